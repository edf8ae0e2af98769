import { isObject } from "../../core/json.js";
import type { EmulatorRequest, ProviderContext, RouteDefinition } from "../../core/provider.js";
import { advance, sliceOf } from "./engine.js";
import { jobResource, vaultResource } from "./render.js";
import { restoreJobs } from "./restore.js";
import { API_VERSIONS, JOB_OUTCOME_STATUSES, key, vaultIdOf } from "./state.js";
import type { DataProtectionSettings, JobOutcome, VaultRecord } from "./state.js";

/**
 * Test and drill controls of the Data Protection provider. In-process: `createDataProtectionControl(core.context)`.
 * Over HTTP, through the core's control API (loopback, no bearer): `control.invoke(method, "/dataprotection/...", body)`:
 * - `POST /_emulator/dataprotection/vaults` {@link VaultSpec} → the vault resource (201)
 * - `PUT /_emulator/dataprotection/vaults/identity` `{ vaultId, principalId? | null }` → the vault resource
 * - `PUT /_emulator/dataprotection/outcomes` `{ target: serverId | vaultId | "*", outcome: JobOutcome | null }`
 * - `PUT /_emulator/dataprotection/settings` `Partial<DataProtectionSettings>` → the overrides
 * - `POST /_emulator/dataprotection/jobs/finish` `{ jobId, status? }` → the job resource
 * - `GET /_emulator/dataprotection/jobs` → every job (all vaults), newest first
 * - `GET /_emulator/dataprotection/restores` → every restore job's files, source and pg_dump version, newest first
 */

export interface VaultSpec {
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  location: string;
  /** System-assigned identity: a GUID, `null` for none; default a new GUID. */
  principalId?: string | null;
  tags?: Record<string, string>;
  softDeleteState?: "On" | "Off" | "AlwaysOn";
  storageType?: VaultRecord["storageType"];
}

export interface DataProtectionControl {
  addVault(spec: VaultSpec): Record<string, unknown>;
  /** Gives the vault a system-assigned identity (`principalId`, default a new GUID) or removes it (`null`). */
  setVaultIdentity(vaultId: string, principalId?: string | null): Record<string, unknown>;
  /** Outcome of jobs that start from now on, for a server id, a vault id or `"*"`; `null` clears it. */
  setJobOutcome(target: string, outcome: JobOutcome | null): void;
  /** Overrides timings and behaviour (see `DataProtectionSettings`). */
  configure(settings: Partial<DataProtectionSettings>): DataProtectionSettings;
  /** Ends a running job now, with its planned outcome or `status`. */
  finishJob(jobId: string, status?: JobOutcome["status"]): Record<string, unknown>;
}

export function createDataProtectionControl(context: ProviderContext): DataProtectionControl {
  const findVault = (vaultId: string): VaultRecord => {
    const vault = sliceOf(context).vaults[key(vaultId)];
    if (!vault) throw new TypeError(`No Backup vault '${vaultId}'.`);
    return vault;
  };
  return {
    addVault(spec) {
      if (!spec.subscriptionId || !spec.resourceGroupName || !spec.name || !spec.location) {
        throw new TypeError("subscriptionId, resourceGroupName, name and location are required.");
      }
      context.state.ensureResourceGroup(spec.subscriptionId, spec.resourceGroupName, spec.location);
      const id = vaultIdOf(spec.subscriptionId.toLowerCase(), spec.resourceGroupName, spec.name);
      const vault: VaultRecord = {
        id,
        subscriptionId: spec.subscriptionId.toLowerCase(),
        resourceGroupName: spec.resourceGroupName,
        name: spec.name,
        location: spec.location,
        tags: { ...(spec.tags ?? {}) },
        principalId: spec.principalId === undefined ? context.newGuid() : spec.principalId,
        tenantId:
          context.state.getSubscription(spec.subscriptionId)?.tenantId ??
          "72f988bf-86f1-41af-91ab-2d7cd011db47",
        storageType: spec.storageType ?? "LocallyRedundant",
        softDeleteState: spec.softDeleteState ?? "On",
        softDeleteRetentionInDays: 14,
        createdAt: context.clock.nowIso(),
      };
      sliceOf(context).vaults[key(id)] = vault;
      return vaultResource(vault);
    },
    setVaultIdentity(vaultId, principalId) {
      const vault = findVault(vaultId);
      vault.principalId = principalId === undefined ? context.newGuid() : principalId;
      return vaultResource(vault);
    },
    setJobOutcome(target, outcome) {
      const outcomes = sliceOf(context).outcomes;
      if (outcome === null) delete outcomes[key(target)];
      else {
        checkOutcomeStatus(outcome.status);
        outcomes[target === "*" ? "*" : key(target)] = outcome;
      }
    },
    configure(settings) {
      const day = settings.weekStartsOn;
      if (day !== undefined && !(Number.isInteger(day) && day >= 0 && day <= 6)) {
        throw new TypeError(
          `weekStartsOn must be a weekday number, 0 (Sunday) to 6 (Saturday), not '${String(day)}'.`,
        );
      }
      Object.assign(sliceOf(context).settings, settings);
      return { ...(sliceOf(context).settings as DataProtectionSettings) };
    },
    finishJob(jobId, status) {
      advance(context);
      const job = Object.values(sliceOf(context).jobs).find(
        (j) => key(j.id) === key(jobId) || j.name === jobId.toLowerCase(),
      );
      if (!job) throw new TypeError(`No backup job '${jobId}'.`);
      if (status !== undefined) checkOutcomeStatus(status);
      if (job.status === "InProgress") {
        if (status) job.outcome = { ...job.outcome, status };
        job.endMs = Math.min(job.endMs, context.clock.now());
        advance(context);
      }
      return jobResource(context, job);
    },
  };
}

function checkOutcomeStatus(status: unknown): void {
  if (!JOB_OUTCOME_STATUSES.includes(status as JobOutcome["status"])) {
    throw new TypeError(
      `Job status must be one of ${JOB_OUTCOME_STATUSES.join(", ")}, not '${String(status)}'.`,
    );
  }
}

/** The HTTP face of {@link createDataProtectionControl}: `EmulatorProvider.controlRoutes`. */
export function controlRoutes(): RouteDefinition[] {
  const body = (request: EmulatorRequest): Record<string, unknown> => {
    if (!isObject(request.body)) throw new TypeError("The request body must be a JSON object.");
    return request.body;
  };
  const action = (
    method: RouteDefinition["method"],
    path: string,
    status: number,
    run: (control: DataProtectionControl, request: EmulatorRequest, context: ProviderContext) => unknown,
  ): RouteDefinition => ({
    method,
    path,
    apiVersions: API_VERSIONS,
    operationName: `_emulator.dataprotection${path.replace(/\//g, ".")}`,
    handler: (request, context) => {
      try {
        const result = run(createDataProtectionControl(context), request, context);
        return result === undefined ? context.respond.empty(204) : context.respond.json(status, result);
      } catch (error) {
        return context.respond.error(
          400,
          "InvalidRequest",
          error instanceof Error ? error.message : String(error),
        );
      }
    },
  });
  return [
    action("POST", "/vaults", 201, (c, r) => c.addVault(body(r) as unknown as VaultSpec)),
    action("PUT", "/vaults/identity", 200, (c, r) => {
      const b = body(r);
      return c.setVaultIdentity(String(b.vaultId), b.principalId as string | null | undefined);
    }),
    action("PUT", "/outcomes", 200, (c, r) => {
      const b = body(r);
      return c.setJobOutcome(String(b.target ?? "*"), (b.outcome ?? null) as JobOutcome | null);
    }),
    action("PUT", "/settings", 200, (c, r) => c.configure(body(r) as Partial<DataProtectionSettings>)),
    action("POST", "/jobs/finish", 200, (c, r) => {
      const b = body(r);
      return c.finishJob(String(b.jobId), b.status as JobOutcome["status"] | undefined);
    }),
    action("GET", "/restores", 200, (_c, _r, context) => {
      advance(context);
      return restoreJobs(context);
    }),
    action("GET", "/jobs", 200, (_c, _r, context) => {
      advance(context);
      return Object.values(sliceOf(context).jobs)
        .sort((a, b) => b.startMs - a.startMs)
        .map((j) => jobResource(context, j));
    }),
  ];
}
