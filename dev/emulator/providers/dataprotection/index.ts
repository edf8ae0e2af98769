import { isObject } from "../../core/json.js";
import type {
  EmulatorProvider,
  EmulatorRequest,
  EmulatorResponse,
  LroOutcome,
  ProviderContext,
  RouteDefinition,
} from "../../core/provider.js";
import {
  advance,
  checkInstanceShape,
  checkProtectable,
  codes,
  createJob,
  isFailure,
  resetSchedules,
  settingsOf,
  sliceOf,
} from "./engine.js";
import type { Failure } from "./engine.js";
import {
  deletedInstanceResource,
  instanceResource,
  jobResource,
  policyResource,
  vaultResource,
} from "./render.js";
import { API_VERSIONS, key, PROVIDER_NAME, vaultIdOf } from "./state.js";
import type { InstanceRecord, VaultRecord } from "./state.js";
import { controlRoutes } from "./control.js";
import { softDeletedConflict, undeleteInstance } from "./deleted.js";
import { allInstances, instancesOfDatasource, instancesOfVault } from "./instanceIndex.js";
import { checkPolicyShape } from "./policy.js";
import { routeBuilder } from "../routes.js";
import { getRecoveryPoint, listRecoveryPoints, triggerRestore, validateRestore } from "./restore.js";

/**
 * Microsoft.DataProtection (api-version 2024-04-01, and 2023-11-01 which the recorded Azure CLI uses):
 * Backup vaults, policies, backup instances with their protection state machine, validateForBackup, ad hoc
 * and scheduled backups and their jobs. See README.md beside this file.
 */

const VAULTS_SUB = "/subscriptions/{subscriptionId}/providers/Microsoft.DataProtection/backupVaults";
const VAULTS_RG =
  "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.DataProtection/backupVaults";
const VAULT = `${VAULTS_RG}/{vaultName}`;
const INSTANCE = `${VAULT}/backupInstances/{backupInstanceName}`;

type Handler = (
  request: EmulatorRequest,
  context: ProviderContext,
) => EmulatorResponse | Promise<EmulatorResponse>;

const apiRoute = routeBuilder(API_VERSIONS);

/** A route that first applies every transition due by now (protection, jobs, schedules). */
function route(
  method: RouteDefinition["method"],
  path: string,
  operationName: string,
  handler: Handler,
): RouteDefinition {
  return apiRoute(method, path, operationName, (request, context) => {
    advance(context);
    return handler(request, context);
  });
}

const fail = (context: ProviderContext, f: Failure): EmulatorResponse =>
  context.respond.error(f.status, f.code, f.message);

/** A route under `{vaultName}`: ARM's 404 when the vault does not exist, else `handler` with the vault. */
function vaultRoute(
  method: RouteDefinition["method"],
  path: string,
  operationName: string,
  handler: (
    request: EmulatorRequest,
    context: ProviderContext,
    vault: VaultRecord,
  ) => EmulatorResponse | Promise<EmulatorResponse>,
): RouteDefinition {
  return route(method, path, operationName, (request, context) => {
    const { subscriptionId = "", resourceGroupName = "", vaultName = "" } = request.params;
    const vault = sliceOf(context).vaults[key(vaultIdOf(subscriptionId, resourceGroupName, vaultName))];
    return vault
      ? handler(request, context, vault)
      : context.respond.notFound("Microsoft.DataProtection/backupVaults", vaultName, resourceGroupName);
  });
}

/** A route under `{backupInstanceName}`: ARM's 404 when the vault or the instance does not exist. */
function instanceRoute(
  method: RouteDefinition["method"],
  path: string,
  operationName: string,
  handler: (
    request: EmulatorRequest,
    context: ProviderContext,
    vault: VaultRecord,
    instance: InstanceRecord,
  ) => EmulatorResponse | Promise<EmulatorResponse>,
): RouteDefinition {
  return vaultRoute(method, path, operationName, (request, context, vault) => {
    const name = request.params.backupInstanceName ?? "";
    const instance = sliceOf(context).instances[key(`${vault.id}/backupInstances/${name}`)];
    return instance
      ? handler(request, context, vault, instance)
      : childNotFound(context, vault, "backupInstances", name);
  });
}

/** ARM's 404 for the vault's child `name` of `type` (e.g. `backupPolicies`). */
function childNotFound(
  context: ProviderContext,
  vault: VaultRecord,
  type: string,
  name: string,
): EmulatorResponse {
  return context.respond.notFound(
    `Microsoft.DataProtection/backupVaults/${type}`,
    `${vault.name}/${name}`,
    vault.resourceGroupName,
  );
}

/**
 * GET of the vault's child stored at `<vault id>/<collection>/<name>`: rendered, or ARM's 404 naming `type`
 * (deleted instances keep their instance's id, so their collection is not their type).
 */
function getChild<T>(
  context: ProviderContext,
  vault: VaultRecord,
  records: Record<string, T>,
  render: (record: T) => unknown,
  { collection, name, type = collection }: { collection: string; name: string; type?: string },
): EmulatorResponse {
  const found = records[key(`${vault.id}/${collection}/${name}`)];
  return found ? context.respond.json(200, render(found)) : childNotFound(context, vault, type, name);
}

/** One page of the vault's records, rendered. */
function listInVault<T extends { vaultKey: string }>(
  request: EmulatorRequest,
  context: ProviderContext,
  vault: VaultRecord,
  records: Record<string, T>,
  render: (record: T) => unknown,
): EmulatorResponse {
  return renderedPage(
    request,
    context,
    Object.values(records).filter((r) => r.vaultKey === key(vault.id)),
    render,
  );
}

/** One page of `records`, rendering only that page's items (a large vault's list stays linear in pages). */
function renderedPage<T>(
  request: EmulatorRequest,
  context: ProviderContext,
  records: T[],
  render: (record: T) => unknown,
): EmulatorResponse {
  const page = context.pager.page(request, records);
  return context.respond.json(200, { ...page, value: page.value.map(render) });
}

/**
 * GET of one page of the vault's children of `type` (`<vault>/<type>`) and of one child
 * (`<vault>/<type>/{<nameParam>}`), stored under `<vault id>/<collection>/<name>`.
 */
function childReadRoutes<T extends { vaultKey: string }>(options: {
  type: string;
  nameParam: string;
  listOperation: string;
  getOperation: string;
  records: (context: ProviderContext) => Record<string, T>;
  render: (record: T) => unknown;
  collection?: string;
}): RouteDefinition[] {
  const { type, nameParam, records, render, collection = type } = options;
  return [
    vaultRoute("GET", `${VAULT}/${type}`, options.listOperation, (request, context, vault) =>
      listInVault(request, context, vault, records(context), render),
    ),
    vaultRoute("GET", `${VAULT}/${type}/{${nameParam}}`, options.getOperation, (request, context, vault) =>
      getChild(context, vault, records(context), render, {
        collection,
        name: request.params[nameParam] ?? "",
        type,
      }),
    ),
  ];
}

/** A failed operation naming the problem; its `Location` answers with the problem's status. */
const failedWith = (problem: Failure): LroOutcome => ({
  status: "Failed",
  error: { code: problem.code, message: problem.message },
  failureStatusCode: problem.status,
});

/** The backup instance at `field` of a request body that must be a `bodyType`, checked. */
function instanceInBody(
  context: ProviderContext,
  vault: VaultRecord,
  body: unknown,
  bodyType: string,
  field: string,
): ReturnType<typeof checkInstanceShape> {
  if (!isObject(body))
    return { status: 400, code: codes.invalidParameter, message: `The request body must be a ${bodyType}.` };
  return checkInstanceShape(context, vault, body[field], field);
}

/** Starts an operation of the vault that ends after `durationInMs`: 202 with its status and result locations. */
function accepted(
  context: ProviderContext,
  vault: VaultRecord,
  request: EmulatorRequest,
  durationInMs: number,
  { complete }: { complete: Parameters<ProviderContext["lro"]["start"]>[0]["complete"] },
): EmulatorResponse {
  const lro = context.lro.start({ ...lroPaths(vault, request, true), durationInMs, complete });
  return context.respond.empty(202, lro.headers);
}

function lroPaths(vault: VaultRecord, request: EmulatorRequest, withLocation: boolean) {
  return {
    statusPathPrefix: `${vault.id}/operationStatus`,
    ...(withLocation
      ? {
          resultPathPrefix: `/subscriptions/${vault.subscriptionId}/providers/Microsoft.DataProtection/locations/${vault.location.replace(/\s+/g, "").toLowerCase()}/operationResults`,
        }
      : {}),
    apiVersion: request.apiVersion,
    subscriptionId: vault.subscriptionId,
  };
}

function listIn(
  request: EmulatorRequest,
  context: ProviderContext,
  predicate: (v: VaultRecord) => boolean,
): EmulatorResponse {
  const vaults = Object.values(sliceOf(context).vaults).filter(predicate).map(vaultResource);
  return context.respond.json(200, context.pager.page(request, vaults));
}

export function createDataProtectionProvider(): EmulatorProvider {
  const routes = (): RouteDefinition[] => [
    route("GET", VAULTS_SUB, "BackupVaults_GetInSubscription", (request, context) =>
      listIn(request, context, (v) => key(v.subscriptionId) === key(request.params.subscriptionId ?? "")),
    ),
    route("GET", VAULTS_RG, "BackupVaults_GetInResourceGroup", (request, context) =>
      listIn(
        request,
        context,
        (v) =>
          key(v.subscriptionId) === key(request.params.subscriptionId ?? "") &&
          key(v.resourceGroupName) === key(request.params.resourceGroupName ?? ""),
      ),
    ),
    vaultRoute("GET", VAULT, "BackupVaults_Get", (_request, context, vault) =>
      context.respond.json(200, vaultResource(vault)),
    ),

    // ---------- policies ----------
    ...childReadRoutes({
      type: "backupPolicies",
      nameParam: "backupPolicyName",
      listOperation: "BackupPolicies_List",
      getOperation: "BackupPolicies_Get",
      records: (context) => sliceOf(context).policies,
      render: policyResource,
    }),
    vaultRoute(
      "PUT",
      `${VAULT}/backupPolicies/{backupPolicyName}`,
      "BackupPolicies_CreateOrUpdate",
      (request, context, vault) => {
        const properties = checkPolicyShape(request.body);
        if (isFailure(properties)) return fail(context, properties);
        const name = request.params.backupPolicyName ?? "";
        const id = `${vault.id}/backupPolicies/${name}`;
        const policy = { id, vaultKey: key(vault.id), name, properties };
        sliceOf(context).policies[key(id)] = policy;
        resetSchedules(context, key(id));
        return context.respond.json(200, policyResource(policy));
      },
    ),
    vaultRoute(
      "DELETE",
      `${VAULT}/backupPolicies/{backupPolicyName}`,
      "BackupPolicies_Delete",
      (request, context, vault) => {
        const k = key(`${vault.id}/backupPolicies/${request.params.backupPolicyName ?? ""}`);
        const slice = sliceOf(context);
        if (!slice.policies[k]) return context.respond.empty(204);
        const users = [...allInstances(slice)].filter(
          (i) => key(String((i.properties.policyInfo as { policyId?: string }).policyId ?? "")) === k,
        );
        if (users.length > 0) {
          return context.respond.error(
            400,
            "UserErrorPolicyInUse",
            `The backup policy is used by ${users.length} backup instance(s) (${users.map((u) => u.name).join(", ")}); change or delete them first.`,
          );
        }
        delete slice.policies[k];
        return context.respond.empty(200);
      },
    ),

    // ---------- validate ----------
    vaultRoute(
      "POST",
      `${VAULT}/validateForBackup`,
      "BackupInstances_ValidateForBackup",
      (request, context, vault) => {
        const shape = instanceInBody(
          context,
          vault,
          request.body,
          "ValidateForBackupRequest",
          "backupInstance",
        );
        if (isFailure(shape)) return fail(context, shape);
        return accepted(context, vault, request, settingsOf(context).validateDurationInMs, {
          // Checked when the operation ends, as the service does: roles granted meanwhile count once propagated.
          complete: () => {
            const problem = checkProtectable(context, vault, shape.datasourceId, shape.datasourceType);
            return problem
              ? failedWith(problem)
              : { status: "Succeeded", result: { objectType: "OperationJobExtendedInfo" } };
          },
        });
      },
    ),

    // ---------- backup instances ----------
    vaultRoute("GET", `${VAULT}/backupInstances`, "BackupInstances_List", (request, context, vault) =>
      renderedPage(request, context, instancesOfVault(sliceOf(context), key(vault.id)), instanceResource),
    ),
    instanceRoute("GET", INSTANCE, "BackupInstances_Get", (_request, context, _vault, instance) =>
      context.respond.json(200, instanceResource(instance)),
    ),
    vaultRoute("PUT", INSTANCE, "BackupInstances_CreateOrUpdate", (request, context, vault) => {
      const shape = instanceInBody(context, vault, request.body, "BackupInstanceResource", "properties");
      if (isFailure(shape)) return fail(context, shape);
      const slice = sliceOf(context);
      const name = request.params.backupInstanceName ?? "";
      const id = `${vault.id}/backupInstances/${name}`;
      const existing = slice.instances[key(id)];
      const softDeleted = existing ? undefined : softDeletedConflict(context, vault, name);
      if (softDeleted) return softDeleted;
      if (existing && existing.datasourceKey !== key(shape.datasourceId)) {
        return context.respond.error(
          400,
          codes.invalidParameter,
          `Backup instance '${name}' protects another datasource; its datasource cannot change.`,
        );
      }
      const elsewhere = instancesOfDatasource(slice, key(shape.datasourceId)).find(
        (i) => key(i.id) !== key(id),
      );
      if (elsewhere) {
        return context.respond.error(
          409,
          codes.alreadyProtected,
          `Datasource '${shape.datasourceId}' is already protected by backup instance '${elsewhere.name}' in Backup vault '${slice.vaults[elsewhere.vaultKey]?.id ?? elsewhere.vaultKey}'.`,
        );
      }
      const settings = settingsOf(context);
      const instance: InstanceRecord = existing ?? {
        id,
        vaultKey: key(vault.id),
        name,
        properties: shape.properties,
        datasourceKey: key(shape.datasourceId),
        protectionStatus: "ConfiguringProtection",
        currentProtectionState: "ConfiguringProtection",
        provisioningState: "Provisioning",
        createdAt: context.clock.nowIso(),
      };
      instance.properties = shape.properties;
      delete instance.nextScheduledMs;
      const tags = isObject(request.body) ? request.body.tags : undefined;
      if (isObject(tags)) instance.tags = tags as Record<string, string>;
      if (!existing || existing.protectionStatus === "ConfiguringProtectionFailed") {
        instance.protectionStatus = "ConfiguringProtection";
        instance.currentProtectionState = "ConfiguringProtection";
        delete instance.protectionErrorDetails;
        delete instance.configuredAtMs;
      }
      instance.provisioningState = "Provisioning";
      slice.instances[key(id)] = instance;
      const lro = context.lro.start({
        ...lroPaths(vault, request, false),
        durationInMs: settings.putDurationInMs,
        complete: () => {
          const current = sliceOf(context).instances[key(id)];
          if (!current)
            return {
              status: "Failed",
              error: { code: "ResourceNotFound", message: "The backup instance was deleted." },
            };
          const problem = checkProtectable(context, vault, shape.datasourceId, shape.datasourceType, {
            allowInstance: id,
          });
          if (problem) {
            current.protectionStatus = "ConfiguringProtectionFailed";
            current.currentProtectionState = "ConfiguringProtectionFailed";
            current.provisioningState = "Failed";
            current.protectionErrorDetails = { code: problem.code, message: problem.message };
            return failedWith(problem);
          }
          current.provisioningState = "Succeeded";
          if (current.protectionStatus === "ConfiguringProtection") {
            current.configuredAtMs = context.clock.now() + settingsOf(context).configureDelayInMs;
          }
          return { status: "Succeeded" };
        },
      });
      return context.respond.json(existing ? 200 : 201, instanceResource(instance), {
        "Azure-AsyncOperation": lro.azureAsyncOperationUrl,
      });
    }),
    vaultRoute("DELETE", INSTANCE, "BackupInstances_Delete", (request, context, vault) => {
      const slice = sliceOf(context);
      const k = key(`${vault.id}/backupInstances/${request.params.backupInstanceName ?? ""}`);
      const instance = slice.instances[k];
      if (!instance) return context.respond.empty(204);
      instance.protectionStatus = "SoftDeleting";
      instance.currentProtectionState = "SoftDeleting";
      instance.provisioningState = "Deleting";
      return accepted(context, vault, request, settingsOf(context).deleteDurationInMs, {
        complete: () => {
          const current = sliceOf(context).instances[k];
          if (current) {
            delete sliceOf(context).instances[k];
            if (vault.softDeleteState !== "Off") {
              const now = context.clock.now();
              sliceOf(context).deletedInstances[k] = {
                ...current,
                protectionStatus: "SoftDeleted",
                currentProtectionState: "SoftDeleted",
                provisioningState: "Succeeded",
                deletionTime: context.clock.reportedIso(now),
                // A deadline, so in the future: when the emulator's clock reaches it, on the wall clock.
                scheduledPurgeTime: context.clock.reportedIso(
                  now + vault.softDeleteRetentionInDays * 86_400_000,
                ),
                deleteActivityID: context.newGuid(),
              };
            }
          }
          return { status: "Succeeded" };
        },
      });
    }),
    instanceRoute(
      "POST",
      `${INSTANCE}/backup`,
      "BackupInstances_AdhocBackup",
      (request, context, vault, instance) => {
        const body = request.body;
        const options = isObject(body) ? body.backupRuleOptions : undefined;
        if (!isObject(options) || typeof options.ruleName !== "string" || !isObject(options.triggerOption)) {
          return context.respond.error(
            400,
            codes.invalidParameter,
            "'backupRuleOptions.ruleName' and 'backupRuleOptions.triggerOption' are required.",
          );
        }
        const policy =
          sliceOf(context).policies[
            key(String((instance.properties.policyInfo as { policyId?: string }).policyId ?? ""))
          ];
        const rules = (
          (policy?.properties.policyRules as Array<Record<string, unknown>> | undefined) ?? []
        ).filter((r) => r.objectType === "AzureBackupRule");
        if (!rules.some((r) => String(r.name).toLowerCase() === String(options.ruleName).toLowerCase())) {
          return context.respond.error(
            400,
            codes.invalidParameter,
            `The policy has no backup rule named '${options.ruleName}'.`,
          );
        }
        const override = options.triggerOption.retentionTagOverride;
        if (override !== undefined && typeof override !== "string") {
          return context.respond.error(
            400,
            codes.invalidParameter,
            "'triggerOption.retentionTagOverride' must be a string.",
          );
        }
        if (instance.currentProtectionState !== "ProtectionConfigured") {
          return context.respond.error(
            400,
            codes.notProtected,
            `Backup instance '${instance.name}' is in state '${instance.currentProtectionState}'; an ad hoc backup needs 'ProtectionConfigured'.`,
          );
        }
        const slice = sliceOf(context);
        const settings = settingsOf(context);
        const job = createJob(context, instance, {
          startMs: context.clock.now(),
          userTriggered: true,
          retentionTag: override ?? "Default",
        });
        slice.adhocCount += 1;
        const full =
          settings.jobIdForm === "full" || (settings.jobIdForm === "alternate" && slice.adhocCount % 2 === 1);
        // Azure answers the job id as a full id (with its own casing) or a bare GUID.
        const jobId = full
          ? `/subscriptions/${vault.subscriptionId}/resourcegroups/${vault.resourceGroupName}/providers/Microsoft.DataProtection/BackupVaults/${vault.name}/backupJobs/${job.name}`
          : job.name;
        return accepted(context, vault, request, settings.adhocDurationInMs, {
          complete: () => ({
            status: "Succeeded",
            result: { jobId, objectType: "OperationJobExtendedInfo" },
            properties: { jobId, objectType: "OperationJobExtendedInfo" },
          }),
        });
      },
    ),
    ...(
      [
        [
          "stopProtection",
          "BackupInstances_StopProtection",
          ["ProtectionConfigured", "BackupSchedulesSuspended"],
          "ProtectionStopped",
          "ProtectionStopped",
        ],
        [
          "suspendBackups",
          "BackupInstances_SuspendBackups",
          ["ProtectionConfigured"],
          "ProtectionStopped",
          "BackupSchedulesSuspended",
        ],
        [
          "resumeProtection",
          "BackupInstances_ResumeProtection",
          ["ProtectionStopped"],
          "ProtectionConfigured",
          "ProtectionConfigured",
        ],
        [
          "resumeBackups",
          "BackupInstances_ResumeBackups",
          ["BackupSchedulesSuspended"],
          "ProtectionConfigured",
          "ProtectionConfigured",
        ],
      ] as const
    ).map(([action, operationName, from, status, state]) =>
      instanceRoute("POST", `${INSTANCE}/${action}`, operationName, (request, context, vault, instance) => {
        if (!(from as readonly string[]).includes(instance.currentProtectionState)) {
          return context.respond.error(
            400,
            codes.notProtected,
            `'${action}' is not allowed for backup instance '${instance.name}' in state '${instance.currentProtectionState}'.`,
          );
        }
        return accepted(context, vault, request, settingsOf(context).actionDurationInMs, {
          complete: () => {
            instance.protectionStatus = status;
            instance.currentProtectionState = state;
            // Resuming does not back-fill the backups missed while stopped.
            if (state === "ProtectionConfigured") {
              instance.lastScheduledMs = context.clock.now();
              delete instance.nextScheduledMs;
            }
            return { status: "Succeeded" };
          },
        });
      }),
    ),

    // ---------- recovery points and restore (restore.ts) ----------
    instanceRoute(
      "GET",
      `${INSTANCE}/recoveryPoints`,
      "RecoveryPoints_List",
      (request, context, _vault, instance) => listRecoveryPoints(request, context, instance),
    ),
    instanceRoute(
      "GET",
      `${INSTANCE}/recoveryPoints/{recoveryPointId}`,
      "RecoveryPoints_Get",
      getRecoveryPoint,
    ),
    instanceRoute(
      "POST",
      `${INSTANCE}/validateRestore`,
      "BackupInstances_ValidateForRestore",
      (request, context, vault, instance) =>
        validateRestore(request, context, vault, instance, (durationInMs, complete) =>
          accepted(context, vault, request, durationInMs, { complete }),
        ),
    ),
    instanceRoute(
      "POST",
      `${INSTANCE}/restore`,
      "BackupInstances_TriggerRestore",
      (request, context, vault, instance) =>
        triggerRestore(request, context, vault, instance, (durationInMs, complete) =>
          accepted(context, vault, request, durationInMs, { complete }),
        ),
    ),

    // ---------- deleted instances ----------
    ...childReadRoutes({
      type: "deletedBackupInstances",
      nameParam: "backupInstanceName",
      listOperation: "DeletedBackupInstances_List",
      getOperation: "DeletedBackupInstances_Get",
      records: (context) => sliceOf(context).deletedInstances,
      render: deletedInstanceResource,
      // Deleted instances keep their instance's id.
      collection: "backupInstances",
    }),
    vaultRoute(
      "POST",
      `${VAULT}/deletedBackupInstances/{backupInstanceName}/undelete`,
      "DeletedBackupInstances_Undelete",
      (request, context, vault) =>
        undeleteInstance(context, vault, request, (complete) =>
          accepted(context, vault, request, settingsOf(context).actionDurationInMs, { complete }),
        ),
    ),

    // ---------- jobs ----------
    // The spec gives this list no query parameter but api-version: a `$filter` is ignored, and every page of
    // the vault's history is served, oldest first (the order of the spec's ListJobs example).
    vaultRoute("GET", `${VAULT}/backupJobs`, "Jobs_List", (request, context, vault) => {
      const jobs = Object.values(sliceOf(context).jobs).filter((j) => j.vaultKey === key(vault.id));
      const sorted = jobs.sort((a, b) => a.startMs - b.startMs || a.name.localeCompare(b.name));
      return renderedPage(request, context, sorted, (j) => jobResource(context, j));
    }),
    vaultRoute("GET", `${VAULT}/backupJobs/{jobId}`, "Jobs_Get", (request, context, vault) =>
      getChild(context, vault, sliceOf(context).jobs, (job) => jobResource(context, job), {
        collection: "backupJobs",
        name: request.params.jobId ?? "",
      }),
    ),
  ];
  return { name: PROVIDER_NAME, routes, controlRoutes };
}

export default createDataProtectionProvider;
