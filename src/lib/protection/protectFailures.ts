/** What Azure's refusal of validateForBackup or of the instance PUT means for the server. */
import { classifyProtectFailure } from "./armErrors.js";
import { unsupportedServer } from "./decide.js";
import {
  appMayNotActOnVault,
  protectedByAnotherInstanceInVault,
  protectedElsewhere,
  stepFailed,
} from "./guidance.js";
import { policyNameOf, sameName } from "./instance.js";
import { backupInstanceName } from "./naming.js";
import { fixPermissions } from "./permissions.js";
import type { FlexibleServerInfo, VaultInfo } from "./ports.js";
import { changePolicy } from "./reevaluate.js";
import type { Run, StepOutcome } from "./run.js";
import { settle, waitForServer } from "./transitions.js";

export type ProtectStep =
  "validateForBackup" | "createBackupInstance" | "undeleteBackupInstance" | "resumeProtection";

/** What Azure's refusal of a step means for the server; transient and unknown errors are rethrown. */
export async function onProtectError(
  run: Run,
  e: unknown,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  step: ProtectStep,
): Promise<StepOutcome> {
  const instanceName = backupInstanceName(run.row.resourceId);
  const failure = classifyProtectFailure(e, vault, instanceName);
  switch (failure.kind) {
    case "ownInstanceExists":
      return ownInstanceFound(run, server, vault, instanceName);
    case "otherInstanceInVault":
      return settle(run, "Protected", protectedByAnotherInstanceInVault(vault.name, failure.message));
    case "otherVault":
      return settle(run, "ProtectedElsewhere", protectedElsewhere(failure.code, failure.message));
    case "vaultIdentityLacksRoles":
      return fixPermissions(run, server, vault, { ...failure, step });
    case "appForbidden":
      return settle(
        run,
        "Failed",
        appMayNotActOnVault(failure.code, step, vault.name, vault.id, failure.message),
      );
    case "replicaNotSupported": {
      // ARM may not have said it is a replica (a role read before replication was set up): Azure's word settles it.
      const rules = run.ctx.settings;
      const unsupported = unsupportedServer({ name: server.name, replicationRole: "Replica" }, rules);
      return settle(run, "Unsupported", {
        ...unsupported,
        lastErrorCode: failure.code,
        lastErrorMessage: `${unsupported?.lastErrorMessage ?? ""} Azure said: ${failure.message}`.trim(),
      });
    }
    case "serverNotReady":
      return waitForServer(run, `not ready for backup (${failure.code})`, {});
    case "rejected":
      return settle(run, "Failed", stepFailed(failure.code, step, failure.message));
    case "unexpected":
      throw e;
  }
}

/**
 * Validation found this app's own deterministic instance (e.g. the row was lost): protected, and moved to
 * the tag's policy if it has another one.
 */
async function ownInstanceFound(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  instanceName: string,
): Promise<StepOutcome> {
  const target = run.target;
  if (target) {
    const existing = await run.ctx.arm.dataProtection.getBackupInstance(vault.id, instanceName, {
      abortSignal: run.signal,
    });
    const current = policyNameOf(existing?.policyId);
    if (existing && current && !sameName(current, target.policyName)) {
      const seen = { region: target.region, tagValue: target.tagValue };
      return changePolicy(run, server, vault, existing, { from: current, to: target.policyName }, seen);
    }
  }
  return settle(run, "Protected", { ...target, instanceName, vaultId: vault.id });
}
