/**
 * Validate, then create: the steps that protect a server, each ending in a stop or a later message so a
 * ~40 s validation or a configuring instance never holds a worker. Resumable from the row at every step.
 */
import { instanceReportsError, policyNotFound, vaultHasNoIdentity } from "./guidance.js";
import { instanceProperties, policyNameOf, sameName } from "./instance.js";
import { ensurePolicy } from "./policies.js";
import type { BackupInstanceInfo, FlexibleServerInfo, VaultInfo } from "./ports.js";
import { onProtectError } from "./protectFailures.js";
import { changePolicy } from "./reevaluate.js";
import type { ProtectTarget, Run, StepOutcome } from "./run.js";
import { findSoftDeleted, pollInstanceOperation, resumeUndeleted, undelete } from "./softDeleted.js";
import { continueLater, settle } from "./transitions.js";

/**
 * A validation or configuration in flight continues from the row without reading the server again (its
 * answer is known): one status read of the validation, or one read of the instance. Undefined when the
 * row has nothing in flight, or its vault no longer serves the region.
 */
export async function continueInFlight(run: Run): Promise<StepOutcome | undefined> {
  const row = run.row;
  const inFlight = (row.state === "Validating" && !!row.operationState) || row.state === "Configuring";
  if (!inFlight || !row.vaultId || !row.instanceName || !row.region || !row.policyName) return undefined;
  const vault = await run.ctx.vaults.resolve(row.region, row.subscriptionId, { abortSignal: run.signal });
  if (!vault || vault.id.toLowerCase() !== row.vaultId.toLowerCase()) return undefined;
  const server: FlexibleServerInfo = {
    id: row.resourceId,
    name: row.serverName,
    location: row.region,
    state: "Ready",
    tags: {},
  };
  return protect(run, server, vault, {
    region: row.region,
    tagValue: row.tagValue,
    policyName: row.policyName,
    vaultId: row.vaultId,
    instanceName: row.instanceName,
  });
}

/** The next step towards `target`: resume a configuring instance or a validation, or start validating. */
export async function protect(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  target: ProtectTarget,
): Promise<StepOutcome> {
  run.target = target;
  const row = run.row;
  const resuming =
    (row.state === "Validating" || row.state === "Configuring") &&
    row.instanceName === target.instanceName &&
    row.vaultId?.toLowerCase() === vault.id.toLowerCase();
  if (resuming && row.state === "Configuring") {
    // An undelete or resume of a soft-deleted instance in flight: follow it, then read the instance.
    const operation = row.operationState
      ? await pollInstanceOperation(run, server, vault, row.operationState)
      : undefined;
    if (operation) return operation;
    // The PUT was accepted earlier: read the instance; put it again only if it has gone.
    const existing = await run.span("configure_wait", () => getInstance(run, vault, target.instanceName));
    if (existing) return checkConfigured(run, vault, existing, row.operationState ? server : undefined);
    return createWithPolicy(run, server, vault, target);
  }
  if (resuming && row.state === "Validating" && row.operationState) {
    return pollValidation(run, server, vault, target, row.operationState);
  }
  if (!vault.principalId) {
    return settle(run, "MissingPermissions", { ...target, ...vaultHasNoIdentity(vault.name, vault.id) });
  }
  const waitingSince = resuming ? row.waitingSince : run.nowIso();
  return withPolicy(run, vault, target, (policyId) =>
    beginValidation(run, server, vault, { ...target, waitingSince }, policyId),
  );
}

/**
 * Starts validateForBackup. Roles are not read up front: validation checks them, and only its
 * UserErrorMissingRequiredPermissions costs role reads (see fixPermissions).
 */
async function beginValidation(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  target: ProtectTarget & { waitingSince: string | undefined },
  policyId: string,
): Promise<StepOutcome> {
  let operationState: string;
  try {
    operationState = await run.span("validate", () =>
      run.ctx.arm.dataProtection.beginValidateForBackup(vault.id, instanceProperties(server, policyId), {
        abortSignal: run.signal,
      }),
    );
  } catch (e) {
    return onProtectError(run, e, server, vault, "validateForBackup");
  }
  // One write records the validation in flight; the request checks back later instead of holding a worker.
  // (A crash before this write only repeats the validation.)
  return continueLater(
    run,
    "Validating",
    { ...target, operationState, lastErrorCode: undefined, lastErrorMessage: undefined, fix: undefined },
    run.settings.validatePollInMs,
  );
}

/** One status read of the validation in flight; once done, create the instance. */
async function pollValidation(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  target: ProtectTarget,
  operationState: string,
): Promise<StepOutcome> {
  let status: { done: boolean; operationState: string };
  try {
    status = await run.span("validate", () =>
      run.ctx.arm.dataProtection.pollValidateForBackup(vault.id, operationState, { abortSignal: run.signal }),
    );
  } catch (e) {
    return onProtectError(run, e, server, vault, "validateForBackup");
  }
  if (!status.done) {
    return continueLater(
      run,
      "Validating",
      { operationState: status.operationState },
      run.settings.validatePollInMs,
    );
  }
  if ((run.options.dequeueCount ?? 1) > 1 || run.message.transientFailures) {
    // Redelivered or retried: an earlier try may have died after its PUT. Look before creating.
    const existing = await getInstance(run, vault, target.instanceName);
    if (existing) return checkConfigured(run, vault, existing);
  }
  return createWithPolicy(run, server, vault, target);
}

function getInstance(
  run: Run,
  vault: VaultInfo,
  instanceName: string,
): Promise<BackupInstanceInfo | undefined> {
  return run.ctx.arm.dataProtection.getBackupInstance(vault.id, instanceName, { abortSignal: run.signal });
}

/** Runs `next` with the target's policy id, or stops when the vault has no such policy. */
async function withPolicy(
  run: Run,
  vault: VaultInfo,
  target: ProtectTarget,
  next: (policyId: string) => Promise<StepOutcome>,
): Promise<StepOutcome> {
  const policyId = await ensurePolicy(run, vault, target.policyName);
  if (!policyId) return settle(run, "Failed", policyNotFound(target.policyName, vault.name, vault.id));
  return next(policyId);
}

function createWithPolicy(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  target: ProtectTarget,
): Promise<StepOutcome> {
  return withPolicy(run, vault, target, (policyId) => create(run, server, vault, target, policyId));
}

/** PUT of the instance under its deterministic name (a repeat updates it), then a later read. */
async function create(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  target: ProtectTarget,
  policyId: string,
): Promise<StepOutcome> {
  // With soft delete on, a deleted instance keeps the name: the PUT would collide, so bring it back.
  const deleted = await findSoftDeleted(run, vault, target);
  if (deleted) return undelete(run, server, vault, target, deleted);
  let instance: BackupInstanceInfo | undefined;
  try {
    instance = await run.span("create_instance", () =>
      run.ctx.arm.dataProtection.createBackupInstance(
        vault.id,
        target.instanceName,
        instanceProperties(server, policyId),
        { abortSignal: run.signal },
      ),
    );
  } catch (e) {
    return onProtectError(run, e, server, vault, "createBackupInstance");
  }
  await run.audit(
    "createBackupInstance",
    instance?.id || `${vault.id}/backupInstances/${target.instanceName}`,
    server.id.toLowerCase(),
    `policy ${target.policyName}`,
  );
  if (instance) return checkConfigured(run, vault, instance);
  return continueLater(
    run,
    "Configuring",
    { waitingSince: run.nowIso(), lastErrorCode: undefined, lastErrorMessage: undefined },
    run.settings.configureFirstPollInMs,
  );
}

/**
 * One look at the instance: `Protected`, `Failed`, or check back later. `undeletedFor`: the instance was just
 * undeleted (or resumed) for this server, so a `ProtectionStopped` one has its protection resumed.
 */
async function checkConfigured(
  run: Run,
  vault: VaultInfo,
  instance: BackupInstanceInfo,
  undeletedFor?: FlexibleServerInfo,
): Promise<StepOutcome> {
  const reported = instance.protectionStatus ?? instance.currentProtectionState;
  const status = (reported ?? "").toLowerCase();
  if (undeletedFor && status === "protectionstopped") {
    return resumeUndeleted(run, undeletedFor, vault, instance.name || (run.row.instanceName ?? ""));
  }
  const wanted = run.row.policyName;
  const policy = policyNameOf(instance.policyId);
  if (undeletedFor && status === "protectionconfigured" && wanted && policy && !sameName(policy, wanted)) {
    // The undeleted instance came back with the policy it had; the tag now asks for another one.
    const seen = { region: run.row.region ?? undeletedFor.location, tagValue: run.row.tagValue };
    return changePolicy(run, undeletedFor, vault, instance, { from: policy, to: wanted }, seen);
  }
  if (status === "protectionconfigured" && wanted && policy && !sameName(policy, wanted)) {
    // A policy change not yet visible on the instance: the PUT's operation is still running.
    return continueLater(run, "Configuring", {}, run.settings.configurePollInMs);
  }
  if (status === "protectionconfigured") {
    return settle(run, "Protected", {
      instanceName: instance.name || run.row.instanceName,
      vaultId: vault.id,
    });
  }
  if (status.includes("error") || status.includes("failed")) {
    return settle(run, "Failed", instanceReportsError(instance.name, reported));
  }
  return continueLater(run, "Configuring", {}, run.settings.configurePollInMs);
}
