/**
 * A soft-deleted backup instance under the deterministic name (someone deleted it while the vault's soft
 * delete was on): a PUT of that name collides, so this app undeletes its own instance instead, keeping its
 * recovery points, then resumes protection. Each operation is an LRO whose serialized state rides on the
 * `Configuring` row, so no worker waits on it.
 */
import { deletedInstanceOfAnotherServer, undeletingInstance } from "./guidance.js";
import type { DeletedBackupInstanceInfo, FlexibleServerInfo, VaultInfo } from "./ports.js";
import { onProtectError } from "./protectFailures.js";
import type { ProtectTarget, Run, StepOutcome } from "./run.js";
import { continueLater, settle } from "./transitions.js";

/** The soft-deleted instance holding `target.instanceName` in `vault`, when there is one. */
export function findSoftDeleted(
  run: Run,
  vault: VaultInfo,
  target: ProtectTarget,
): Promise<DeletedBackupInstanceInfo | undefined> {
  return run.ctx.arm.dataProtection.getDeletedBackupInstance(vault.id, target.instanceName, {
    abortSignal: run.signal,
  });
}

/** Undeletes this server's soft-deleted instance and checks back while the operation runs. */
export async function undelete(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  target: ProtectTarget,
  deleted: DeletedBackupInstanceInfo,
): Promise<StepOutcome> {
  if (deleted.dataSourceId.toLowerCase() !== server.id.toLowerCase()) {
    return settle(run, "Failed", {
      ...target,
      ...deletedInstanceOfAnotherServer(
        target.instanceName,
        vault.id,
        deleted.dataSourceId,
        deleted.scheduledPurgeTime,
      ),
    });
  }
  let operationState: string;
  try {
    operationState = await run.ctx.arm.dataProtection.beginUndeleteBackupInstance(
      vault.id,
      target.instanceName,
      { abortSignal: run.signal },
    );
  } catch (e) {
    return onProtectError(run, e, server, vault, "undeleteBackupInstance");
  }
  await run.audit(
    "undeleteBackupInstance",
    deleted.id || `${vault.id}/deletedBackupInstances/${target.instanceName}`,
    server.id.toLowerCase(),
    `soft-deleted instance of policy ${deleted.policyId?.split("/").pop() ?? "unknown"}`,
  );
  return continueLater(
    run,
    "Configuring",
    {
      ...target,
      waitingSince: run.nowIso(),
      operationState,
      lastErrorCode: undefined,
      lastErrorMessage: undeletingInstance(target.instanceName, vault.name),
      fix: undefined,
    },
    run.settings.configureFirstPollInMs,
  );
}

/** Resumes protection of the instance just undeleted (it comes back `ProtectionStopped`). */
export async function resumeUndeleted(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  instanceName: string,
): Promise<StepOutcome> {
  let operationState: string;
  try {
    operationState = await run.ctx.arm.dataProtection.beginResumeProtection(vault.id, instanceName, {
      abortSignal: run.signal,
    });
  } catch (e) {
    return onProtectError(run, e, server, vault, "resumeProtection");
  }
  await run.audit(
    "resumeProtection",
    `${vault.id}/backupInstances/${instanceName}`,
    server.id.toLowerCase(),
    "undeleted instance",
  );
  return continueLater(run, "Configuring", { operationState }, run.settings.configurePollInMs);
}

/**
 * One status read of the undelete or resume on the row. Undefined once it is done (the caller reads the
 * instance next); else the run checks back later with the operation kept.
 */
export async function pollInstanceOperation(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  operationState: string,
): Promise<StepOutcome | undefined> {
  let status: { done: boolean; operationState: string };
  try {
    status = await run.ctx.arm.dataProtection.pollInstanceOperation(vault.id, operationState, {
      abortSignal: run.signal,
    });
  } catch (e) {
    return onProtectError(run, e, server, vault, "undeleteBackupInstance");
  }
  if (status.done) return undefined;
  return continueLater(
    run,
    "Configuring",
    { operationState: status.operationState },
    run.settings.configurePollInMs,
  );
}
