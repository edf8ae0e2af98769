/**
 * Soft-deleted backup instances (`DeletedBackupInstances_*`, 2024-04-01): with the vault's soft delete on, a
 * deleted instance keeps its name under `deletedBackupInstances` (index.ts moves it there), blocks a new PUT
 * of that name, and `undelete` brings it back in `ProtectionStopped` with its recovery points and jobs, as
 * Azure Backup documents ("undelete returns the data to stop protection with retain data state"); resuming
 * protection is a separate `resumeProtection`.
 */
import type { EmulatorRequest, EmulatorResponse, LroOutcome, ProviderContext } from "../../core/provider.js";
import { sliceOf } from "./engine.js";
import { key } from "./state.js";
import type { DeletedInstanceRecord, InstanceRecord, VaultRecord } from "./state.js";

/** This emulator's code for a PUT of a name held by a soft-deleted instance (Azure does not publish one). */
export const SOFT_DELETED_CODE = "UserErrorBackupInstanceExistsInSoftDeletedState";

/** Starts an operation of the vault answering 202 with its status and result locations (index.ts `accepted`). */
export type StartAccepted = (complete: () => LroOutcome) => EmulatorResponse;

function deletedKey(vault: VaultRecord, name: string): string {
  return key(`${vault.id}/backupInstances/${name}`);
}

/**
 * The 409 for a PUT of instance `name` while a soft-deleted instance holds that name; undefined when the
 * name is free.
 */
export function softDeletedConflict(
  context: ProviderContext,
  vault: VaultRecord,
  name: string,
): EmulatorResponse | undefined {
  const deleted = sliceOf(context).deletedInstances[deletedKey(vault, name)];
  if (!deleted) return undefined;
  return context.respond.error(
    409,
    SOFT_DELETED_CODE,
    `Backup instance '${deleted.name}' was deleted and is kept in soft-deleted state until ${deleted.scheduledPurgeTime}. Undelete it (POST .../deletedBackupInstances/${deleted.name}/undelete) or use another name.`,
  );
}

/** `POST {vault}/deletedBackupInstances/{name}/undelete`: 202, then the instance is back in `ProtectionStopped`. */
export function undeleteInstance(
  context: ProviderContext,
  vault: VaultRecord,
  request: EmulatorRequest,
  startAccepted: StartAccepted,
): EmulatorResponse {
  const name = request.params.backupInstanceName ?? "";
  const k = deletedKey(vault, name);
  if (!sliceOf(context).deletedInstances[k]) {
    return context.respond.notFound(
      "Microsoft.DataProtection/backupVaults/deletedBackupInstances",
      `${vault.name}/${name}`,
      vault.resourceGroupName,
    );
  }
  return startAccepted(() => {
    const slice = sliceOf(context);
    const deleted = slice.deletedInstances[k];
    // A second undelete of the same instance finds it already restored: nothing more to do.
    if (deleted) {
      delete slice.deletedInstances[k];
      slice.instances[k] = restored(deleted, context.clock.now());
    }
    return { status: "Succeeded" };
  });
}

/** The instance as it was, its deletion record dropped, protection stopped with its data retained. */
function restored(deleted: DeletedInstanceRecord, nowMs: number): InstanceRecord {
  const {
    deletionTime: _time,
    scheduledPurgeTime: _purge,
    deleteActivityID: _activity,
    nextScheduledMs: _next,
    nextScheduledFromMs: _from,
    configuredAtMs: _configured,
    ...instance
  } = deleted;
  return {
    ...instance,
    protectionStatus: "ProtectionStopped",
    currentProtectionState: "ProtectionStopped",
    provisioningState: "Succeeded",
    // Resuming later does not back-fill the backups missed while deleted.
    lastScheduledMs: nowMs,
  };
}
