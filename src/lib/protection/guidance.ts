/**
 * What a person reads on a server's row: every message and fix the protection worker writes, once each.
 * Codes that always go with a message travel with it, so a call site only picks the right guidance.
 */
import type { ProtectionState } from "../domain/protectionStates.js";

/** The error fields of a row that explain a stop or a wait. */
export interface Guidance {
  lastErrorCode?: string;
  lastErrorMessage: string;
  fix?: string;
}

/** A role and the scope it is needed on, as a grant command names them. */
export interface RoleAtScope {
  roleName: string;
  scope: string;
}

const RETRY = "re-tag the server (or run `pgflex-autoprotect protect <server>`) to retry.";

/** "<what to do first>, then re-tag the server ... to retry." */
function thenRetry(firstStep: string): string {
  return `${firstStep}, then ${RETRY}`;
}

const FIX_THE_CAUSE = thenRetry("Fix the cause named above");

/** "45 s" or "31 min", for messages people read. */
export function durationText(ms: number): string {
  return ms < 120_000 ? `${Math.ceil(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

function minutes(ms: number): number {
  return Math.round(ms / 60_000);
}

/** A tag value made safe to quote in a message: printable, at most 64 characters, JSON-quoted. */
export function quoteTagValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?");
  return JSON.stringify(printable.length > 64 ? `${printable.slice(0, 61)}...` : printable);
}

/** The exact command that grants `role` to `principalId`. */
export function grantCommand(principalId: string, role: RoleAtScope): string {
  return `az role assignment create --assignee-object-id ${principalId} --assignee-principal-type ServicePrincipal --role "${role.roleName}" --scope ${role.scope}`;
}

/** The grant for this app's own identity, whose id the app does not know. */
function appGrantCommand(roleName: string, scope: string): string {
  return grantCommand("<app principal id>", { roleName, scope });
}

function unknownTagMessage(backupTag: string, tagValue: string, allowed: readonly string[]): string {
  return `Backup tag "${backupTag}" has the value ${quoteTagValue(tagValue)}, which maps to no backup policy. Allowed values: ${allowed.join(", ")}.`;
}

export function missingRolesMessage(
  vaultName: string,
  principalId: string,
  missing: readonly RoleAtScope[],
): { message: string; fix: string } {
  return {
    message: `The identity ${principalId} of Backup vault "${vaultName}" lacks ${missing
      .map((r) => `"${r.roleName}" on ${r.scope}`)
      .join(" and ")}.`,
    fix: missing.map((r) => grantCommand(principalId, r)).join("\n"),
  };
}

// Reading the server and its tag.

export function appMayNotReadServer(code: string, error: string, subscriptionId: string): Guidance {
  return {
    lastErrorCode: code,
    lastErrorMessage: `This app may not read the server: ${error}`,
    fix: appGrantCommand("Reader", `/subscriptions/${subscriptionId}`),
  };
}

export const serverDeleted: Guidance = {
  lastErrorMessage: "The server was deleted. Its backups, if any, are kept: this product never deletes them.",
};

/** The audit detail of a row removed because its server never existed for this app. */
export const neverKnownRemoved =
  "Row removed: Azure Resource Manager answers 404 for the server and it never got past Pending, so there is no protection or history to keep. A later event for the server records it again.";

export function untagged(backupTag: string): Guidance {
  return { lastErrorMessage: `The server has no "${backupTag}" tag; add it to ask for protection.` };
}

export function optedOut(backupTag: string): Guidance {
  return { lastErrorMessage: `The "${backupTag}" tag opts the server out of protection.` };
}

export function unknownTag(backupTag: string, tagValue: string, allowed: readonly string[]): Guidance {
  return {
    lastErrorCode: "UnknownPolicyTag",
    lastErrorMessage: unknownTagMessage(backupTag, tagValue, allowed),
    fix: `Set the "${backupTag}" tag to one of: ${allowed.join(", ")}; or map the value in PGFLEX_POLICY_MAP.`,
  };
}

function malformedTagMessage(problem: string): string {
  return `The backup tag is malformed: ${problem}.`;
}

/** Same wording of the fix as the compliance sweep gives for malformed tags. */
export function malformedTag(backupTag: string, problem: string, serverId: string): Guidance {
  return {
    lastErrorCode: "MalformedTag",
    lastErrorMessage: malformedTagMessage(problem),
    fix: `Set exactly one "${backupTag}" tag with a policy value on ${serverId}, e.g. az tag update --resource-id ${serverId} --operation merge --tags ${backupTag}=<value>.`,
  };
}

export function noVaultForRegion(region: string, vaultMarkerTag: string): Guidance {
  return {
    lastErrorCode: "NoVaultForRegion",
    lastErrorMessage: `No Backup vault serves region "${region}".`,
    fix: `Add ${region}=<Backup vault resource id> to PGFLEX_VAULT_MAP${vaultMarkerTag ? `, or tag a Backup vault in ${region} with "${vaultMarkerTag}"` : ""}.`,
  };
}

export function wouldProtect(policyName: string, vaultName: string, instanceName: string): Guidance {
  return {
    lastErrorMessage: `Would protect with policy "${policyName}" in Backup vault "${vaultName}" as instance "${instanceName}".`,
  };
}

// A protected server evaluated again.

/** Why a protected server's tag no longer asks for protection. */
export type TagDropped =
  | { kind: "unknown"; tagValue: string; allowed: readonly string[] }
  | { kind: "malformed"; problem: string }
  | { kind: "untagged" | "optOut" };

export function protectionContinues(
  backupTag: string,
  why: TagDropped,
  instanceName: string | undefined,
): Guidance {
  const continues = " Protection continues unchanged.";
  return {
    lastErrorMessage:
      why.kind === "unknown"
        ? unknownTagMessage(backupTag, why.tagValue, why.allowed) + continues
        : why.kind === "malformed"
          ? malformedTagMessage(why.problem) + continues
          : `The "${backupTag}" tag was removed or opts out; protection continues: this product never stops protection or deletes backups.`,
    fix: `To stop protection, stop it on backup instance "${instanceName}" in the vault yourself.`,
  };
}

export const protectedByForeignInstance: Guidance = {
  lastErrorCode: "ProtectedByAnotherInstance",
  lastErrorMessage: `The server is protected by a backup instance this app did not make; this app leaves it as it is.`,
};

export function policyChangeNotApplied(
  backupTag: string,
  wanted: string,
  kept: string | undefined,
): Guidance {
  return {
    lastErrorCode: "PolicyChangeNotApplied",
    lastErrorMessage: `The "${backupTag}" tag now asks for policy "${wanted}"; the backup instance keeps policy "${kept}": it is not this app's instance in the region's Backup vault.`,
    fix: `Change the policy of the server's backup instance in the vault, or set the tag back.`,
  };
}

/** The subject of every policy-change message. */
export function policyChange(instanceName: string, vaultName: string, from: string, to: string): string {
  return `the policy of backup instance "${instanceName}" in Backup vault "${vaultName}" from "${from}" to "${to}"`;
}

export function wouldChangePolicy(change: string): Guidance {
  return {
    lastErrorCode: "WouldChangePolicy",
    lastErrorMessage: `Would change ${change}.`,
    fix: "Switch PGFLEX_MODE to enforce to apply it, or set the tag back.",
  };
}

export function policyChangeFailed(
  change: string,
  code: string,
  error: string,
  appForbiddenOnVault: string | undefined,
): Guidance {
  return {
    lastErrorCode: code,
    lastErrorMessage: `Could not change ${change}: ${error}`,
    fix: appForbiddenOnVault ? appMayActOnVaultFix(appForbiddenOnVault) : FIX_THE_CAUSE,
  };
}

export function changingPolicy(change: string): Guidance {
  return { lastErrorMessage: `Changing ${change}.` };
}

// Waiting, validating, configuring.

export function serverNotReadyInTime(deadlineInMs: number, serverState: string): Guidance {
  return {
    lastErrorCode: "ServerNotReady",
    lastErrorMessage: `The server was not Ready within ${minutes(deadlineInMs)} minutes (state: ${serverState}).`,
    fix: thenRetry("Bring the server to Ready (start it or wait for the operation to finish)"),
  };
}

/** A stopped server is parked: no deadline, no retries, no alert; its start event or a sweep resumes it. */
export function serverStopped(serverId: string): Guidance {
  return {
    lastErrorCode: "ServerStopped",
    lastErrorMessage:
      "The server is stopped, and Azure Backup takes no backups of a stopped server. Protection waits, without a deadline, until it starts (Azure starts a stopped server by itself after seven days): the start event or the next sweep resumes it.",
    fix: `To protect it now, start it: az postgres flexible-server start --ids ${serverId}`,
  };
}

export function waitingForServer(serverState: string): string {
  return `Waiting for the server to be Ready (state: ${serverState}).`;
}

export function vaultHasNoIdentity(vaultName: string, vaultId: string): Guidance {
  return {
    lastErrorCode: "VaultHasNoIdentity",
    lastErrorMessage: `Backup vault "${vaultName}" has no system-assigned identity.`,
    fix: `az resource update --ids ${vaultId} --set identity.type=SystemAssigned`,
  };
}

export function policyNotFound(policyName: string, vaultName: string, vaultId: string): Guidance {
  return {
    lastErrorCode: "PolicyNotFound",
    lastErrorMessage: `Backup policy "${policyName}" does not exist in Backup vault "${vaultName}".`,
    fix: `Create policy "${policyName}" in ${vaultId}, or set PGFLEX_CREATE_MISSING_POLICIES=true.`,
  };
}

/** A validation or configuration still running when the run's deadline passed. */
export function operationTimedOut(state: ProtectionState, deadlineInMs: number): Guidance {
  const configuring = state === "Configuring";
  return {
    lastErrorCode: configuring ? "ProtectionNotConfigured" : "ValidationTimedOut",
    lastErrorMessage: `${configuring ? "Protection was not configured" : "Validation did not finish"} within ${minutes(deadlineInMs)} minutes.`,
    fix: thenRetry("See the Backup vault for the operation's state"),
  };
}

export function instanceReportsError(instanceName: string, status: string | undefined): Guidance {
  return {
    lastErrorCode: "ProtectionError",
    lastErrorMessage: `Backup instance "${instanceName}" reports ${status}.`,
    fix: thenRetry("See the backup instance in the vault for details; fix it"),
  };
}

// A soft-deleted instance holding the deterministic name.

export function undeletingInstance(instanceName: string, vaultName: string): string {
  return `Backup instance "${instanceName}" was soft-deleted in Backup vault "${vaultName}"; undeleting it (its recovery points are kept), then resuming protection.`;
}

export function deletedInstanceOfAnotherServer(
  instanceName: string,
  vaultId: string,
  dataSourceId: string,
  purgeAt: string | undefined,
): Guidance {
  return {
    lastErrorCode: "InstanceNameSoftDeleted",
    lastErrorMessage: `Backup instance name "${instanceName}" is held by a soft-deleted instance of ${dataSourceId || "another datasource"}${purgeAt ? ` until ${purgeAt}` : ""}.`,
    fix: thenRetry(
      `Decide about that instance's recovery points in ${vaultId} (undelete it and move its server's protection, or let it be purged)`,
    ),
  };
}

// The vault identity's roles.

export function rolesMissing(
  vaultName: string,
  principalId: string,
  missing: readonly RoleAtScope[],
): Guidance {
  const m = missingRolesMessage(vaultName, principalId, missing);
  return {
    lastErrorCode: "MissingPermissions",
    lastErrorMessage: m.message,
    fix: `${m.fix}\n(or set PGFLEX_AUTO_GRANT_ROLES=true to let this app grant them)`,
  };
}

export function grantDenied(
  vaultName: string,
  principalId: string,
  denied: readonly RoleAtScope[],
): Guidance {
  const m = missingRolesMessage(vaultName, principalId, denied);
  return {
    lastErrorCode: "MissingPermissions",
    lastErrorMessage: `${m.message} This app is not permitted to grant ${denied.length === 1 ? "it" : "them"} (403).`,
    fix: m.fix,
  };
}

export function rolesGranted(granted: readonly RoleAtScope[]): string {
  return `Granted ${granted.map((r) => `"${r.roleName}"`).join(" and ")} to the vault identity; validating again once the roles propagate.`;
}

export function rolesPropagating(step: string, error: string): string {
  return `${step}: ${error} (retrying while roles propagate)`;
}

export function rolesStillMissing(
  code: string,
  step: string,
  error: string,
  propagationInMs: number,
  grants: string,
): Guidance {
  return {
    lastErrorCode: code,
    lastErrorMessage: `${step} still reports missing permissions after ${minutes(propagationInMs)} minutes although the roles are assigned: ${error}`,
    fix: grants,
  };
}

// Azure's answers to validate and create.

export function protectedByAnotherInstanceInVault(vaultName: string, error: string): Guidance {
  return {
    lastErrorCode: "ProtectedByAnotherInstance",
    lastErrorMessage: `The server is already protected in Backup vault "${vaultName}" by another backup instance: ${error}`,
  };
}

export function protectedElsewhere(code: string, error: string): Guidance {
  return {
    lastErrorCode: code,
    lastErrorMessage: `The server is already protected by another Backup vault: ${error}`,
    fix: "Nothing to do if that protection is intended; otherwise stop it there and re-tag the server.",
  };
}

function appMayActOnVaultFix(vaultId: string): string {
  return appGrantCommand("Backup Contributor", vaultId);
}

/** The app's own identity (not the vault's) may not act on the vault. */
export function appMayNotActOnVault(
  code: string,
  step: string,
  vaultName: string,
  vaultId: string,
  error: string,
): Guidance {
  return {
    lastErrorCode: code,
    lastErrorMessage: `${step}: this app may not act on Backup vault "${vaultName}": ${error}`,
    fix: appMayActOnVaultFix(vaultId),
  };
}

export function stepFailed(code: string, step: string, error: string): Guidance {
  return { lastErrorCode: code, lastErrorMessage: `${step} failed: ${error}`, fix: FIX_THE_CAUSE };
}

// Retries and giving up.

export function retryingTransient(
  code: string,
  failures: number,
  delayInMs: number,
  leftInMs: number,
  error: string,
): Guidance {
  return {
    lastErrorCode: code,
    lastErrorMessage: `Retrying in ${durationText(delayInMs)} after a transient failure (${failures} in a row): ${error}`,
    fix: `Nothing yet: the app keeps retrying for up to ${durationText(leftInMs)} more. If it keeps failing, check Azure's status and the subscription's throttling.`,
  };
}

export function gaveUp(code: string, gaveUpAfter: string, error: string): Guidance {
  return {
    lastErrorCode: code,
    lastErrorMessage: `Gave up after ${gaveUpAfter}: ${error}`,
    fix: FIX_THE_CAUSE,
  };
}
