import { readFile } from "node:fs/promises";
import { BlobServiceClient } from "@azure/storage-blob";
import type { EmulatorRequest, EmulatorResponse, LroOutcome, ProviderContext } from "../../core/provider.js";
import { isObject } from "../../core/json.js";
import { missingArchivesMessage, restoreFilesFor } from "../../pg/snapshots.js";
import {
  classifyStorageId,
  containersAtUrl,
  findAccount,
  findContainer,
  storageOptionsOf,
} from "../storage/state.js";
import type { ContainerRecord, StorageAccountRecord } from "../storage/state.js";
import { codes, createJob, settingsOf, sliceOf } from "./engine.js";
import type { Failure } from "./engine.js";
import { findRecoveryPoint, recoveryPointResource, recoveryPointsOf } from "./recoveryPoints.js";
import type { RecoveryPoint } from "./recoveryPoints.js";
import { writing } from "./restoreJob.js";
import type { InstanceRecord, JobRecord, VaultRecord } from "./state.js";

/**
 * Recovery points, `validateRestore` and `restore` (restore as files, the only restore PG Flexible has):
 * request checks as the service makes them, the target checks when the operation ends (container exists,
 * the vault identity holds Storage Blob Data Contributor on it or above, the account allows cross-tenant
 * replication and public network access), then a Restore job that writes the files into the container
 * (local Azurite) and completes about two minutes later (emulated) — never before its files are there.
 */

export const ROLE_BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

/** Restore timings (emulator time), settable like the provider's other settings. From the recording. */
export interface RestoreSettings {
  /** validateRestore ≈ 41 s. */
  validateRestoreDurationInMs: number;
  /** The restore LRO until the job exists ≈ 1 s. */
  restoreTriggerDurationInMs: number;
  /** The restore job: 2 min 6 s recorded; 2–2.5 min observed for small servers. */
  restoreJobDurationInMs: number;
}

export const defaultRestoreSettings: RestoreSettings = {
  validateRestoreDurationInMs: 41_000,
  restoreTriggerDurationInMs: 1_000,
  restoreJobDurationInMs: 126_000,
};

export function restoreSettingsOf(context: ProviderContext): RestoreSettings {
  const all = settingsOf(context) as unknown as Partial<RestoreSettings>;
  const out = { ...defaultRestoreSettings };
  for (const k of Object.keys(out) as Array<keyof RestoreSettings>) {
    const v = all[k];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  return out;
}

export const restoreCodes = {
  containerNotAccessible: "UserErrorContainerNotAccessible",
  /** Ours: no public reference gives Azure's code for an unknown recovery point. */
  recoveryPointNotFound: "UserErrorRecoveryPointNotFound",
} as const;

const invalid = (message: string): Failure => ({ status: 400, code: codes.invalidParameter, message });
const notAccessible = (message: string): Failure => ({
  status: 400,
  code: restoreCodes.containerNotAccessible,
  message,
});

interface RestoreRequest {
  point: RecoveryPoint;
  url: string;
  filePrefix: string;
  /** The container id given as `targetResourceArmId`, if any. */
  containerId?: string;
}

/**
 * Shape checks of an `AzureBackupRestoreRequest` for a PG Flexible instance: only `RecoveryPointBased`
 * requests from the `VaultStore` to `RestoreFilesTargetInfo` (restore as files to `AzureBlobs`), a known
 * recovery point, and a `targetResourceArmId` (optional) naming a container, not its account.
 */
function checkRequest(
  context: ProviderContext,
  instance: InstanceRecord,
  value: unknown,
  where: string,
): RestoreRequest | Failure {
  if (!isObject(value)) return invalid(`'${where}' is required and must be an AzureBackupRestoreRequest.`);
  if (value.objectType !== "AzureBackupRecoveryPointBasedRestoreRequest") {
    return invalid(
      `'${where}.objectType' is '${String(value.objectType)}': a PostgreSQL Flexible Server restores only from a recovery point ('AzureBackupRecoveryPointBasedRestoreRequest').`,
    );
  }
  if (value.sourceDataStoreType !== "VaultStore")
    return invalid(
      `'${where}.sourceDataStoreType' must be 'VaultStore' (PostgreSQL Flexible backups are vaulted).`,
    );
  if (typeof value.recoveryPointId !== "string" || value.recoveryPointId === "")
    return invalid(`'${where}.recoveryPointId' is required.`);
  const target = value.restoreTargetInfo;
  if (!isObject(target)) return invalid(`'${where}.restoreTargetInfo' is required.`);
  if (target.objectType !== "RestoreFilesTargetInfo") {
    return invalid(
      `'${where}.restoreTargetInfo.objectType' is '${String(target.objectType)}': a PostgreSQL Flexible Server restores only as files ('RestoreFilesTargetInfo') to a blob container.`,
    );
  }
  if (target.recoveryOption !== "FailIfExists")
    return invalid(`'${where}.restoreTargetInfo.recoveryOption' must be 'FailIfExists'.`);
  const details = target.targetDetails;
  if (!isObject(details)) return invalid(`'${where}.restoreTargetInfo.targetDetails' is required.`);
  const at = `${where}.restoreTargetInfo.targetDetails`;
  if (details.restoreTargetLocationType !== "AzureBlobs")
    return invalid(`'${at}.restoreTargetLocationType' must be 'AzureBlobs'.`);
  if (typeof details.url !== "string" || !/^https?:\/\/[^/]+\/.+/u.test(details.url))
    return invalid(
      `'${at}.url' must be the blob container's URL (https://<account>.blob.core.windows.net/<container>).`,
    );
  if (typeof details.filePrefix !== "string")
    return invalid(`'${at}.filePrefix' is required (PostgreSQL Flexible restores ignore it).`);
  let containerId: string | undefined;
  if (details.targetResourceArmId !== undefined && details.targetResourceArmId !== null) {
    const id = String(details.targetResourceArmId);
    const kind = classifyStorageId(id);
    if (kind?.kind === "account") {
      return invalid(
        `The targetResourceArmId '${id}' is invalid: it names a storage account. Give the blob container's id: '${id}/blobServices/default/containers/<container>'.`,
      );
    }
    if (!kind) {
      return invalid(
        `The targetResourceArmId '${id}' is invalid: it must be a blob container's id ('/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/<container>').`,
      );
    }
    containerId = id;
  }
  const point = findRecoveryPoint(context, instance, value.recoveryPointId);
  if (!point) {
    return {
      status: 400,
      code: restoreCodes.recoveryPointNotFound,
      message: `Recovery point '${value.recoveryPointId}' was not found for backup instance '${instance.name}'. List the instance's recoveryPoints and use one of their ids.`,
    };
  }
  return { point, url: details.url, filePrefix: details.filePrefix, ...(containerId ? { containerId } : {}) };
}

const isFailure = (v: unknown): v is Failure =>
  isObject(v) && typeof v.code === "string" && typeof v.status === "number";

/** What the service finds when it reaches for the container with the vault's identity. */
function checkTarget(
  context: ProviderContext,
  vault: VaultRecord,
  request: RestoreRequest,
): { account: StorageAccountRecord; container: ContainerRecord } | Failure {
  let target: { account: StorageAccountRecord; container: ContainerRecord } | undefined;
  if (request.containerId) {
    const container = findContainer(context, request.containerId);
    const account = container ? findAccount(context, container.accountKey) : undefined;
    if (!container || !account)
      return notAccessible(
        `The container '${request.containerId}' does not exist or cannot be reached. Create it, or give an existing container.`,
      );
    const atUrl = containersAtUrl(context, request.url);
    if (!atUrl.some((t) => t.container === container)) {
      return invalid(
        `The url '${request.url}' is not the URL of the container '${request.containerId}'. Give the container's URL (its account's primaryEndpoints.blob followed by the container name).`,
      );
    }
    target = { account, container };
  } else {
    const atUrl = containersAtUrl(context, request.url);
    if (atUrl.length > 1)
      return invalid(
        `Several containers answer at '${request.url}': give the container's id as 'targetResourceArmId'.`,
      );
    target = atUrl[0];
    if (!target)
      return notAccessible(`The container at '${request.url}' does not exist or cannot be reached.`);
  }
  const { account, container } = target;
  if (!vault.principalId) {
    return notAccessible(
      `The Backup vault '${vault.name}' has no system-assigned managed identity, so it cannot write to '${container.id}'. Enable the vault's identity and grant it 'Storage Blob Data Contributor' on the container.`,
    );
  }
  if (!context.rbac.hasRole(vault.principalId, ROLE_BLOB_CONTRIBUTOR, container.id)) {
    return notAccessible(
      `The Backup vault's managed identity (principal '${vault.principalId}') cannot access the container '${container.id}': it needs the role 'Storage Blob Data Contributor' (${ROLE_BLOB_CONTRIBUTOR}) on the container or its storage account. Grant it: az role assignment create --assignee-object-id ${vault.principalId} --assignee-principal-type ServicePrincipal --role ${ROLE_BLOB_CONTRIBUTOR} --scope ${container.id}`,
    );
  }
  if (!account.allowCrossTenantReplication) {
    return notAccessible(
      `The storage account '${account.name}' does not allow cross-tenant replication, which a restore as files needs. Allow it: az storage account update --ids ${account.id} --allow-cross-tenant-replication true`,
    );
  }
  if (account.publicNetworkAccess !== "Enabled") {
    return notAccessible(
      `The storage account '${account.name}' has public network access '${account.publicNetworkAccess}'; a restore as files needs it 'Enabled'. Enable it: az storage account update --ids ${account.id} --public-network-access Enabled`,
    );
  }
  return target;
}

const failedWith = (problem: Failure): LroOutcome => ({
  status: "Failed",
  error: { code: problem.code, message: problem.message },
  failureStatusCode: problem.status,
});

/** Starts an LRO of the vault (202 + Azure-AsyncOperation + Location), supplied by the route table. */
export type Accept = (
  durationInMs: number,
  complete: () => LroOutcome | Promise<LroOutcome>,
) => EmulatorResponse;

const fail = (context: ProviderContext, f: Failure): EmulatorResponse =>
  context.respond.error(f.status, f.code, f.message);

/** `RecoveryPoints_List`: newest first, paged; `$filter` on `startDate`/`endDate` (ge, gt, le, lt, eq). */
export function listRecoveryPoints(
  request: EmulatorRequest,
  context: ProviderContext,
  instance: InstanceRecord,
): EmulatorResponse {
  let points = recoveryPointsOf(context, instance);
  const filter = (request.query["$filter"] ?? "").trim();
  if (filter !== "") {
    for (const clause of filter.split(/\s+and\s+/iu)) {
      const m = /^(startDate|endDate)\s+(eq|ge|gt|le|lt)\s+'?([^']+)'?$/iu.exec(clause.trim());
      const at = m?.[3] ? Date.parse(m[3]) : NaN;
      if (!m || Number.isNaN(at)) {
        return fail(
          context,
          invalid(
            `The $filter clause '${clause}' is not supported: use startDate and endDate with ge, gt, le, lt or eq and an ISO 8601 time in quotes.`,
          ),
        );
      }
      const start = (m[1] ?? "").toLowerCase() === "startdate";
      const op = (m[2] ?? "").toLowerCase();
      points = points.filter((p) => {
        const t = context.clock.reported(p.timeMs);
        if (op === "gt") return t > at;
        if (op === "lt") return t < at;
        if (op === "ge") return t >= at;
        if (op === "le") return t <= at;
        return start ? t >= at : t <= at;
      });
    }
  }
  const page = context.pager.page(request, points);
  return context.respond.json(200, {
    ...page,
    value: page.value.map((p) => recoveryPointResource(context, p)),
  });
}

/** `RecoveryPoints_Get`. */
export function getRecoveryPoint(
  request: EmulatorRequest,
  context: ProviderContext,
  vault: VaultRecord,
  instance: InstanceRecord,
): EmulatorResponse {
  const id = request.params.recoveryPointId ?? "";
  const point = findRecoveryPoint(context, instance, id);
  return point
    ? context.respond.json(200, recoveryPointResource(context, point))
    : context.respond.notFound(
        "Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints",
        `${vault.name}/${instance.name}/${id}`,
        vault.resourceGroupName,
      );
}

/** `BackupInstances_ValidateForRestore`: body `ValidateRestoreRequestObject`; the target is checked when it ends. */
export function validateRestore(
  request: EmulatorRequest,
  context: ProviderContext,
  vault: VaultRecord,
  instance: InstanceRecord,
  accept: Accept,
): EmulatorResponse {
  if (!isObject(request.body))
    return fail(context, invalid("The request body must be a ValidateRestoreRequestObject."));
  const shape = checkRequest(context, instance, request.body.restoreRequestObject, "restoreRequestObject");
  if (isFailure(shape)) return fail(context, shape);
  return accept(restoreSettingsOf(context).validateRestoreDurationInMs, () => {
    const problem = checkTarget(context, vault, shape);
    return isFailure(problem)
      ? failedWith(problem)
      : { status: "Succeeded", result: { objectType: "OperationJobExtendedInfo" } };
  });
}

/** `BackupInstances_TriggerRestore`: body `AzureBackupRestoreRequest`; the job starts only if the target checks pass. */
export function triggerRestore(
  request: EmulatorRequest,
  context: ProviderContext,
  vault: VaultRecord,
  instance: InstanceRecord,
  accept: Accept,
): EmulatorResponse {
  const shape = checkRequest(context, instance, request.body, "parameters");
  if (isFailure(shape)) return fail(context, shape);
  return accept(restoreSettingsOf(context).restoreTriggerDurationInMs, () => {
    const target = checkTarget(context, vault, shape);
    if (isFailure(target)) return failedWith(target);
    const job = startRestoreJob(context, instance, shape, target.container);
    // Azure answers the full id in its own casing (recording entries 67–68), or a GUID.
    const jobId =
      settingsOf(context).jobIdForm === "guid"
        ? job.name
        : `/subscriptions/${vault.subscriptionId}/resourcegroups/${vault.resourceGroupName}/providers/Microsoft.DataProtection/BackupVaults/${vault.name}/backupJobs/${job.name}`;
    return {
      status: "Succeeded",
      result: { jobId, objectType: "OperationJobExtendedInfo" },
      properties: { jobId, objectType: "OperationJobExtendedInfo" },
    };
  });
}

function startRestoreJob(
  context: ProviderContext,
  instance: InstanceRecord,
  request: RestoreRequest,
  container: ContainerRecord,
): JobRecord {
  const now = context.clock.now();
  const job = createJob(context, instance, { startMs: now, userTriggered: true, retentionTag: "" });
  job.operation = "Restore";
  job.outcome = { status: "Completed" };
  job.endMs = now + restoreSettingsOf(context).restoreJobDurationInMs;
  job.restore = {
    recoveryPointId: request.point.name,
    recoveryPointMs: request.point.timeMs,
    url: request.url,
    filePrefix: request.filePrefix,
    containerKey: container.id.toLowerCase(),
    containerName: container.name,
    fileGuid: context.newGuid(),
    writeState: "pending",
  };
  void writeFiles(context, job, request.point);
  return job;
}

/**
 * Writes `<guid>_database_<db>.sql` (pg_dump custom archives), `<guid>_roles.sql`, `<guid>_schema.sql`,
 * `<guid>_tablespaces.sql` and `backupstarttimestamp` into the container in Azurite. Without Azurite the
 * files are only recorded on the job. Never throws: a failure fails the job.
 */
async function writeFiles(context: ProviderContext, job: JobRecord, point: RecoveryPoint): Promise<void> {
  const restore = job.restore;
  if (!restore) return;
  writing.add(restore);
  try {
    const files = await restoreFilesFor(context, point.job.datasourceId, point.name, point.job.startMs);
    // Never an older archive in place of the data this point holds: the restore fails, saying how to get it.
    if (files.missing.length > 0) throw new Error(missingArchivesMessage(files.missing));
    const g = restore.fileGuid;
    const blobs: Array<[string, Buffer]> = [];
    for (const db of files.databases) blobs.push([`${g}_database_${db.name}.sql`, await readFile(db.file)]);
    for (const kind of ["roles", "schema", "tablespaces"] as const)
      blobs.push([`${g}_${kind}.sql`, await readFile(files[kind])]);
    blobs.push(["backupstarttimestamp", Buffer.from(context.clock.reportedIso(point.job.startMs))]);
    const connection = storageOptionsOf(context).blobConnectionString;
    if (connection) {
      const containerClient = BlobServiceClient.fromConnectionString(connection).getContainerClient(
        restore.containerName,
      );
      await containerClient.createIfNotExists();
      for (const [name, data] of blobs) await containerClient.getBlockBlobClient(name).uploadData(data);
    }
    restore.files = blobs.map(([name, data]) => ({ name, sizeInBytes: data.length }));
    restore.source = connection ? files.source : "none";
    restore.pgDumpVersion = files.pgDumpVersion;
    restore.writeState = "written";
  } catch (error) {
    restore.writeState = "failed";
    restore.writeError = error instanceof Error ? error.message : String(error);
    context.log(`restore ${job.name}: writing the files failed: ${restore.writeError}`);
  } finally {
    restore.writtenAtMs = context.clock.now();
    writing.delete(restore);
  }
}

/** Every restore job's facts (control API): the files written, where from, and the pg_dump version. */
export function restoreJobs(
  context: ProviderContext,
): Array<{ jobId: string } & NonNullable<JobRecord["restore"]>> {
  return Object.values(sliceOf(context).jobs)
    .filter((j) => j.restore)
    .sort((a, b) => b.startMs - a.startMs)
    .map((j) => ({ jobId: j.id, ...(j.restore as NonNullable<JobRecord["restore"]>) }));
}
