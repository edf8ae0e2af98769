/**
 * The Data Protection calls of a restore as files: a backup instance's recovery points, `validateRestore`,
 * `restore` and the Restore job. The restore capability sees these small shapes, not the client's models.
 */
import type { ArmClients } from "./clients.js";
import type {
  AzureBackupRecoveryPointBasedRestoreRequest,
  AzureBackupRecoveryPointResource,
} from "./dataprotection/models.js";
import { parseVaultId } from "./ids.js";
import type { ProtectedInstance } from "./backupOperations.js";
import { getOrUndefined } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";

export interface RecoveryPointInfo {
  /** The recovery point id (the GUID-like name the service gives it). */
  id: string;
  /** When the point was taken (ISO 8601). */
  time: string;
  retentionTag?: string;
  policyName?: string;
  /** When the vault store copy expires; absent when the service does not say. */
  expiryTime?: string;
  /** "Completed" or "Partial". */
  state?: string;
}

/** Where a restore writes: the container's ARM id and URL, and the region the restore runs in. */
export interface RestoreTarget {
  recoveryPointId: string;
  containerId: string;
  containerUrl: string;
  /** The vault's region (the restore runs where the data is). */
  location: string;
}

/** The slice of a Restore job the tracker reads. */
export interface RestoreJob {
  status: string;
  startTime?: string;
  endTime?: string | null;
  errorDetails?: Array<{ code?: string; message?: string; recommendedAction?: string[] }> | null;
  bytesTransferred?: number;
}

export interface RestoreOperations {
  /** The instance's recovery points, in the service's order (every page). */
  listRecoveryPoints(
    instance: ProtectedInstance,
    options?: OperationOptions,
  ): AsyncIterable<RecoveryPointInfo>;
  /** The point, or undefined when the service answers 404. */
  getRecoveryPoint(
    instance: ProtectedInstance,
    recoveryPointId: string,
    options?: OperationOptions,
  ): Promise<RecoveryPointInfo | undefined>;
  /** `validateRestore`, waited for; throws the service's RestError (e.g. UserErrorContainerNotAccessible). */
  validateRestore(
    instance: ProtectedInstance,
    target: RestoreTarget,
    options?: OperationOptions,
  ): Promise<void>;
  /** `restore`, waited for until Azure accepted it (the operation returned the job id). */
  startRestore(
    instance: ProtectedInstance,
    target: RestoreTarget,
    options?: OperationOptions,
  ): Promise<{ jobId: string; jobResourceId: string }>;
  /** The job, or undefined when the service answers 404. */
  getRestoreJob(vaultId: string, jobId: string, options?: OperationOptions): Promise<RestoreJob | undefined>;
  /**
   * The instance's Restore job from `recoveryPointId` started at or after `since`, from the vault's job list
   * (every page): how a restore whose start Azure did not confirm finds the job it may have started.
   */
  findRestoreJob(
    instance: ProtectedInstance,
    recoveryPointId: string,
    since: Date,
    options?: OperationOptions,
  ): Promise<{ jobId: string; jobResourceId: string } | undefined>;
}

export interface RestoreOperationsOptions {
  /** LRO poll interval of validate and restore. */
  updateIntervalInMs?: number;
}

/** The request body of both `validateRestore` and `restore` (PG Flexible: restore as files only). */
export function restoreRequest(target: RestoreTarget): AzureBackupRecoveryPointBasedRestoreRequest {
  return {
    objectType: "AzureBackupRecoveryPointBasedRestoreRequest",
    recoveryPointId: target.recoveryPointId,
    sourceDataStoreType: "VaultStore",
    restoreTargetInfo: {
      objectType: "RestoreFilesTargetInfo",
      recoveryOption: "FailIfExists",
      restoreLocation: target.location,
      targetDetails: {
        // Ignored for PG Flexible: the service names the files itself.
        filePrefix: "pgflex",
        restoreTargetLocationType: "AzureBlobs",
        url: target.containerUrl,
        targetResourceArmId: target.containerId,
      },
    },
  };
}

function toPoint(r: AzureBackupRecoveryPointResource): RecoveryPointInfo | undefined {
  const p = r.properties;
  const id = p?.recoveryPointId ?? r.name;
  if (!p || !id || !p.recoveryPointTime) return undefined;
  const vaultStore = p.recoveryPointDataStoresDetails?.find((d) => d.type === "VaultStore");
  const expiry = p.expiryTime ?? vaultStore?.expiryTime;
  return {
    id,
    time: p.recoveryPointTime,
    ...(p.retentionTagName ? { retentionTag: p.retentionTagName } : {}),
    ...(p.policyName ? { policyName: p.policyName } : {}),
    ...(expiry ? { expiryTime: expiry } : {}),
    ...(p.recoveryPointState ? { state: p.recoveryPointState } : {}),
  };
}

export function createRestoreOperations(
  clients: Pick<ArmClients, "dataProtection">,
  options: RestoreOperationsOptions = {},
): RestoreOperations {
  const lro = (abortSignal: OperationOptions["abortSignal"]) => ({
    abortSignal,
    ...(options.updateIntervalInMs ? { updateIntervalInMs: options.updateIntervalInMs } : {}),
  });
  const open = async (vaultId: string) => {
    const v = parseVaultId(vaultId);
    return { v, client: await clients.dataProtection(v.subscriptionId) };
  };
  return {
    async *listRecoveryPoints(instance, listOptions = {}) {
      const { v, client } = await open(instance.vaultId);
      for await (const r of client.recoveryPoints.list(
        v.resourceGroupName,
        v.vaultName,
        instance.instanceName,
        {
          abortSignal: listOptions.abortSignal,
        },
      )) {
        const point = toPoint(r);
        if (point) yield point;
      }
    },
    async getRecoveryPoint(instance, recoveryPointId, getOptions = {}) {
      const { v, client } = await open(instance.vaultId);
      const r = await getOrUndefined(() =>
        client.recoveryPoints.get(v.resourceGroupName, v.vaultName, instance.instanceName, recoveryPointId, {
          abortSignal: getOptions.abortSignal,
        }),
      );
      return r && toPoint(r);
    },
    async validateRestore(instance, target, validateOptions = {}) {
      const { v, client } = await open(instance.vaultId);
      await client.backupInstances.beginValidateForRestoreAndWait(
        v.resourceGroupName,
        v.vaultName,
        instance.instanceName,
        { restoreRequestObject: restoreRequest(target) },
        lro(validateOptions.abortSignal),
      );
    },
    async startRestore(instance, target, startOptions = {}) {
      const { v, client } = await open(instance.vaultId);
      const result = await client.backupInstances.beginTriggerRestoreAndWait(
        v.resourceGroupName,
        v.vaultName,
        instance.instanceName,
        restoreRequest(target),
        lro(startOptions.abortSignal),
      );
      return { jobId: result.jobId, jobResourceId: result.jobResourceId };
    },
    async findRestoreJob(instance, recoveryPointId, since, findOptions = {}) {
      const { v, client } = await open(instance.vaultId);
      const instanceName = instance.instanceName.toLowerCase();
      for await (const job of client.jobs.list(v.resourceGroupName, v.vaultName, {
        abortSignal: findOptions.abortSignal,
      })) {
        const p = job.properties;
        if (!p || !job.name || p.operationCategory?.toLowerCase() !== "restore") continue;
        const ofInstance =
          p.backupInstanceId?.split("/").pop()?.toLowerCase() === instanceName ||
          p.backupInstanceFriendlyName?.toLowerCase() === instanceName;
        const point = p.extendedInfo?.sourceRecoverPoint?.recoveryPointID;
        if (!ofInstance || (point && point !== recoveryPointId)) continue;
        if (!p.startTime || Date.parse(p.startTime) < since.getTime()) continue;
        return { jobId: job.name, jobResourceId: job.id ?? `${instance.vaultId}/backupJobs/${job.name}` };
      }
      return undefined;
    },
    async getRestoreJob(vaultId, jobId, getOptions = {}) {
      const { v, client } = await open(vaultId);
      const job = await getOrUndefined(() =>
        client.jobs.get(v.resourceGroupName, v.vaultName, jobId, { abortSignal: getOptions.abortSignal }),
      );
      const p = job?.properties;
      if (!p) return undefined;
      const bytes = p.extendedInfo?.dataTransferredInBytes ?? p.extendedInfo?.dataTransferedInBytes;
      return {
        status: p.status,
        ...(p.startTime ? { startTime: p.startTime } : {}),
        ...(p.endTime ? { endTime: p.endTime } : {}),
        ...(p.errorDetails ? { errorDetails: p.errorDetails } : {}),
        ...(typeof bytes === "number" ? { bytesTransferred: bytes } : {}),
      };
    },
  };
}
