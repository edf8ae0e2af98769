/**
 * A protected server evaluated again (a tag change, a sweep): protection is never stopped, and a tag
 * naming another policy moves this app's own instance to it.
 */
import { ensureError } from "../errors.js";
import { errorCode, isRejection, statusOf } from "./armErrors.js";
import type { TagDecision } from "./decide.js";
import {
  changingPolicy,
  policyChange,
  policyChangeFailed,
  policyChangeNotApplied,
  policyNotFound,
  protectedByForeignInstance,
  protectionContinues,
  wouldChangePolicy,
} from "./guidance.js";
import { instanceProperties, policyNameOf, sameName } from "./instance.js";
import { ensurePolicy } from "./policies.js";
import type { BackupInstanceInfo, FlexibleServerInfo, VaultInfo } from "./ports.js";
import type { Run, SeenOnServer, StepOutcome } from "./run.js";
import { continueLater, settle } from "./transitions.js";

/** Codes that, once on the row, mark its instance as made outside this app. */
const FOREIGN_INSTANCE_CODES = ["ProtectedByAnotherInstance", "PolicyChangeNotApplied"];

/**
 * An opt-out, a removed or unreadable tag keeps protection; a tag mapping to another policy than the
 * instance's moves the instance to it (a PUT of the same instance, never a stop). Undefined only when this
 * app's instance has gone and the tag asks for protection: the caller protects the server again.
 */
export async function reevaluateProtected(
  run: Run,
  server: FlexibleServerInfo,
  decision: TagDecision,
  seen: SeenOnServer,
): Promise<StepOutcome | undefined> {
  const row = run.row;
  if (decision.kind !== "protect") {
    return settle(run, "ProtectedUntagged", {
      ...seen,
      ...protectionContinues(run.settings.backupTag, decision, row.instanceName),
    });
  }
  const wanted = decision.policyName;
  const sameAsRow = !row.policyName || sameName(wanted, row.policyName);
  // Only this app's own instance in the region's vault is changed; one made outside the app (another name)
  // or left in a vault that no longer serves the region is reported, not touched.
  const foreign = FOREIGN_INSTANCE_CODES.includes(row.lastErrorCode ?? "");
  const ours = !!row.vaultId && !!row.instanceName && !foreign;
  const vault = ours
    ? await run.ctx.vaults.resolve(seen.region, row.subscriptionId, { abortSignal: run.signal })
    : undefined;
  if (!vault || !row.instanceName || vault.id.toLowerCase() !== row.vaultId?.toLowerCase()) {
    if (sameAsRow && !foreign) return settle(run, "Protected", seen);
    if (sameAsRow) return settle(run, "Protected", { ...seen, ...protectedByForeignInstance });
    return settle(run, "Protected", {
      ...seen,
      ...policyChangeNotApplied(run.settings.backupTag, wanted, row.policyName),
    });
  }
  const instance = await run.ctx.arm.dataProtection.getBackupInstance(vault.id, row.instanceName, {
    abortSignal: run.signal,
  });
  if (!instance) return undefined;
  const current = policyNameOf(instance.policyId);
  if (!current || sameName(current, wanted)) {
    return settle(run, "Protected", { ...seen, policyName: wanted, vaultId: vault.id });
  }
  return changePolicy(run, server, vault, instance, { from: current, to: wanted }, seen);
}

/** PUT of the same instance with the new policy, then the same non-blocking wait as creation. */
export async function changePolicy(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  instance: BackupInstanceInfo,
  change: { from: string; to: string },
  seen: SeenOnServer,
): Promise<StepOutcome> {
  const { from, to } = change;
  const what = policyChange(instance.name, vault.name, from, to);
  // Until the change is accepted, the instance keeps its old policy and keeps protecting.
  const kept = { ...seen, policyName: from, vaultId: vault.id };
  if (run.settings.mode === "report")
    return settle(run, "Protected", { ...kept, ...wouldChangePolicy(what) });
  const policyId = await ensurePolicy(run, vault, to);
  if (!policyId) return settle(run, "Protected", { ...kept, ...policyNotFound(to, vault.name, vault.id) });
  try {
    await run.ctx.arm.dataProtection.createBackupInstance(
      vault.id,
      instance.name,
      instanceProperties(server, policyId),
      { abortSignal: run.signal },
    );
  } catch (e) {
    if (!isRejection(e)) throw e;
    const code = errorCode(e) ?? `HTTP${statusOf(e) ?? ""}`;
    const forbiddenOn = statusOf(e) === 403 ? vault.id : undefined;
    return settle(run, "Protected", {
      ...kept,
      ...policyChangeFailed(what, code, ensureError(e).message, forbiddenOn),
    });
  }
  await run.audit(
    "changeBackupInstancePolicy",
    instance.id || `${vault.id}/backupInstances/${instance.name}`,
    server.id.toLowerCase(),
    `policy ${from} -> ${to}`,
  );
  return continueLater(
    run,
    "Configuring",
    {
      ...seen,
      policyName: to,
      vaultId: vault.id,
      instanceName: instance.name,
      waitingSince: run.nowIso(),
      lastErrorCode: undefined,
      ...changingPolicy(what),
      fix: undefined,
    },
    run.settings.configureFirstPollInMs,
  );
}
