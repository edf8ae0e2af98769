import type { InventoryInstance, InventoryServer } from "../azure/inventory/types.js";
import type { Classification } from "../domain/compliance.js";
import { readBackupTag } from "../domain/backupTag.js";
import { unsupportedForBackup, unsupportedGuidance } from "../domain/backupSupport.js";

/** Rules of classification, from configuration. */
export interface ClassificationRules {
  /** Tag name that asks for protection (compared case-insensitively). */
  backupTag: string;
  /** Tag value (lower-case) → policy name. */
  policyMap: Readonly<Record<string, string>>;
  /** Tag values (lower-case) that opt out. */
  optOutValues: readonly string[];
  /** Added to the policy period before a last backup counts as stale. */
  staleGraceInMs: number;
  /** Period used when the policy's period is unknown (PG Flexible vaulted backups are weekly). */
  defaultPolicyPeriodInMs: number;
}

/**
 * Pure classification: no I/O, no clock (the caller passes `now`). Every branch here has a test in
 * test/compliance/classify.test.ts; change both together.
 */
export interface ClassifyServerInput {
  server: InventoryServer;
  /** Every backup instance whose datasource is this server, in any vault the sweep could read. */
  instances: readonly InventoryInstance[];
  /** Vaults this app protects into (vault map and marker-tag vaults), lower-cased ids. */
  managedVaultIds: ReadonlySet<string>;
  /** The managed vault serving the server's region, when there is one. */
  expectedVaultId?: string;
  /** The auto-protection worker's last word on this server, when it has one (servers table). */
  record?: {
    state: string;
    lastErrorCode?: string;
    lastErrorMessage?: string;
    fix?: string;
    protectedAt?: string;
  };
  rules: ClassificationRules;
  now: Date;
  /**
   * Set when part of the inventory is missing (a vault or a subscription's vaults could not be read): then
   * "no instance", "no vault" and "not ours" are not facts, and such verdicts become Unclassified.
   */
  inventoryGap?: string;
}

const INACTIVE = new Set(["protectionstopped", "softdeleted", "softdeleting"]);
const FAILED = new Set(["protectionerror", "configuringprotectionfailed", "invalid"]);
const SUSPENDED = new Set(["backupschedulessuspended", "retentionschedulessuspended"]);
const CONFIGURING = new Set(["configuringprotection", "updatingprotection"]);
/** Worker states that mean "tried and gave up until a person acts". */
const WORKER_FAILED = new Set(["failed", "missingpermissions", "novaultforregion", "unknownpolicytag"]);

function states(i: InventoryInstance): string[] {
  return [i.protectionStatus, i.currentProtectionState]
    .filter((s): s is string => !!s)
    .map((s) => s.toLowerCase());
}
export function isActiveInstance(i: InventoryInstance): boolean {
  return !states(i).some((s) => INACTIVE.has(s));
}
function isFailed(i: InventoryInstance): boolean {
  return states(i).some((s) => FAILED.has(s));
}

/** Prefers the instance in the expected vault, then other managed vaults; configured before failed. */
function pick(
  instances: readonly InventoryInstance[],
  expectedVaultId: string | undefined,
): InventoryInstance | undefined {
  const score = (i: InventoryInstance): number =>
    (i.vaultId === expectedVaultId ? 0 : 2) + (isFailed(i) ? 1 : 0);
  return [...instances].sort((a, b) => score(a) - score(b) || a.id.localeCompare(b.id))[0];
}

function vaultName(id: string): string {
  return id.slice(id.lastIndexOf("/") + 1);
}

/** Verdicts that rest on something being absent from the inventory. */
function unknowable(
  server: InventoryServer,
  gap: string,
  base: Partial<Classification> = {},
): Classification {
  return {
    class: "Unclassified",
    reason: `Could not tell whether ${server.name} is protected: ${gap}.`,
    fix: "See the sweep's failures; the next sweep classifies it once the inventory can be read.",
    ...base,
  };
}

export function classifyServer(input: ClassifyServerInput): Classification {
  const { server, rules, now } = input;
  const tag = readBackupTag(server.tags, rules.backupTag);
  const active = input.instances.filter(isActiveInstance);
  const managed = active.filter((i) => input.managedVaultIds.has(i.vaultId));
  const elsewhere = active.filter((i) => !input.managedVaultIds.has(i.vaultId));
  const about = (i: InventoryInstance | undefined): Partial<Classification> =>
    i
      ? {
          instanceId: i.id,
          vaultId: i.vaultId,
          policyName: i.policyName,
          lastBackupAt: i.lastSuccessfulBackupAt,
        }
      : {};

  if (tag.kind === "malformed") {
    return {
      class: "Unclassified",
      reason: `Tags of ${server.name} are malformed: ${tag.problem}.`,
      fix: `Set exactly one "${rules.backupTag}" tag with a policy value on ${server.id}, e.g. az tag update --resource-id ${server.id} --operation merge --tags ${rules.backupTag}=<value>.`,
      ...about(pick(active, input.expectedVaultId)),
    };
  }

  if (tag.kind === "absent") {
    const instance = pick(active, input.expectedVaultId);
    if (instance) {
      return {
        class: "ProtectedUntagged",
        reason: `${server.name} is protected by backup instance ${instance.name} in vault ${vaultName(instance.vaultId)} but has no "${rules.backupTag}" tag.`,
        fix: `Tag the server ${rules.backupTag}=<value> so this app keeps it protected, or stop protection in the vault if it is no longer wanted.`,
        ...about(instance),
      };
    }
    if (input.inventoryGap) return unknowable(server, input.inventoryGap);
    return {
      class: "Untagged",
      reason: `${server.name} has no "${rules.backupTag}" tag and no backup instance.`,
      fix: "",
    };
  }

  const tagValue = tag.value;
  if (rules.optOutValues.includes(tagValue)) {
    const instance = pick(active, input.expectedVaultId);
    return {
      class: "OptedOut",
      reason: instance
        ? `${server.name} opts out (${rules.backupTag}=${tagValue}) but backup instance ${instance.name} in vault ${vaultName(instance.vaultId)} still protects it.`
        : `${server.name} opts out of protection (${rules.backupTag}=${tagValue}).`,
      fix: instance
        ? "Stop protection in the vault if the opt-out is meant; this app never stops protection."
        : "",
      tagValue,
      ...about(instance),
    };
  }

  const expectedPolicyName = rules.policyMap[tagValue];
  if (!expectedPolicyName) {
    return {
      class: "ProtectionFailed",
      reason: `Tag value "${tagValue}" on ${server.name} names no backup policy.`,
      fix: `Use one of ${Object.keys(rules.policyMap)
        .map((k) => `"${k}"`)
        .join(", ")} or add ${tagValue}=<policy> to PGFLEX_POLICY_MAP.`,
      tagValue,
      ...about(pick(active, input.expectedVaultId)),
    };
  }
  const base = { tagValue, expectedPolicyName };

  const unsupported = unsupportedForBackup(server);
  if (unsupported) {
    const g = unsupportedGuidance(server.name, unsupported, rules);
    return {
      class: "Unsupported",
      reason: g.reason,
      fix: g.fix,
      ...base,
      ...about(pick(active, input.expectedVaultId)),
    };
  }

  const instance = pick(managed, input.expectedVaultId);
  if (!instance) {
    if (input.inventoryGap && !(input.record && WORKER_FAILED.has(input.record.state.toLowerCase()))) {
      return unknowable(server, input.inventoryGap, base);
    }
    const other = pick(elsewhere, undefined);
    if (other) {
      return {
        class: "ProtectedElsewhere",
        reason: `${server.name} is already protected by backup instance ${other.name} in vault ${vaultName(other.vaultId)}, which this app does not manage.`,
        fix: `Nothing is owed if that vault is intended; to move it, stop protection there and the next sweep protects it in ${input.expectedVaultId ? vaultName(input.expectedVaultId) : "the region's vault"}.`,
        ...base,
        ...about(other),
      };
    }
    if (!input.expectedVaultId) {
      return {
        class: "ProtectionFailed",
        reason: `No Backup vault serves region ${server.location} for ${server.name}.`,
        fix: `Add ${server.location}=<vault resource id> to PGFLEX_VAULT_MAP, or tag a vault in ${server.location} with the vault marker tag.`,
        ...base,
      };
    }
    const record = input.record;
    if (record && WORKER_FAILED.has(record.state.toLowerCase())) {
      return {
        class: "ProtectionFailed",
        reason: `Protecting ${server.name} failed (${record.lastErrorCode ?? record.state}): ${sentence(record.lastErrorMessage ?? "no detail recorded")}.`,
        fix: record.fix ?? "See the server's row in the servers table and the audit log.",
        ...base,
      };
    }
    const failedOne = pick(
      input.instances.filter((i) => input.managedVaultIds.has(i.vaultId) && isFailed(i)),
      input.expectedVaultId,
    );
    if (failedOne) return failed(server, failedOne, base, about);
    return {
      class: "TaggedUnprotected",
      reason: `${server.name} asks for policy ${expectedPolicyName} (${rules.backupTag}=${tagValue}) but has no backup instance.`,
      fix: `A sweep in enforce mode enqueues protection with policy ${expectedPolicyName} in vault ${vaultName(input.expectedVaultId)}.`,
      ...base,
    };
  }

  if (isFailed(instance)) return failed(server, instance, base, about);

  const s = states(instance);
  if (s.some((x) => SUSPENDED.has(x))) {
    return {
      class: "ProtectionFailed",
      reason: `Backups of ${server.name} are suspended on backup instance ${instance.name}.`,
      fix: `Resume backups: az dataprotection backup-instance resume-protection --ids ${instance.id}.`,
      ...base,
      ...about(instance),
    };
  }

  if ((instance.policyName ?? "").toLowerCase() !== expectedPolicyName.toLowerCase()) {
    return {
      class: "WrongPolicy",
      reason: `${server.name} asks for policy ${expectedPolicyName} but backup instance ${instance.name} uses ${instance.policyName ?? "no policy"}.`,
      fix: `Enforce mode enqueues protection, which moves the instance to ${expectedPolicyName}.`,
      ...base,
      ...about(instance),
    };
  }

  if (s.some((x) => CONFIGURING.has(x))) {
    return {
      class: "Protected",
      reason: `Protection of ${server.name} with policy ${expectedPolicyName} is being configured.`,
      fix: "",
      ...base,
      ...about(instance),
    };
  }

  if (instance.lastBackupUnknown && !instance.lastSuccessfulBackupAt) {
    return {
      class: "Unclassified",
      reason: `Could not tell whether the backups of ${server.name} are current: the job history of vault ${vaultName(instance.vaultId)} could not be read.`,
      fix: "See the sweep's failures; the next sweep classifies it once the job history can be read.",
      ...base,
      ...about(instance),
    };
  }

  const periodInMs = instance.policyPeriodInMs ?? rules.defaultPolicyPeriodInMs;
  const allowedInMs = periodInMs + rules.staleGraceInMs;
  const last = instance.lastSuccessfulBackupAt ? Date.parse(instance.lastSuccessfulBackupAt) : NaN;
  const protectedAt = input.record?.protectedAt ? Date.parse(input.record.protectedAt) : NaN;
  if (Number.isNaN(last) && now.getTime() - protectedAt <= allowedInMs) {
    return {
      class: "Protected",
      reason: `${server.name} is protected with policy ${expectedPolicyName} since ${new Date(protectedAt).toISOString()}; its first backup is due within the policy period plus grace (${formatHours(allowedInMs)}).`,
      fix: "",
      ...base,
      ...about(instance),
    };
  }
  if (Number.isNaN(last) || now.getTime() - last > allowedInMs) {
    return {
      class: "ProtectedStale",
      reason: Number.isNaN(last)
        ? `${server.name} has no successful backup on record in vault ${vaultName(instance.vaultId)}.`
        : `The last successful backup of ${server.name} (${new Date(last).toISOString()}) is older than the policy period plus grace (${formatHours(allowedInMs)}).`,
      fix: `Check the vault's backup jobs for errors and start an on-demand backup: POST /api/servers/{id}/backups.`,
      ...base,
      ...about(instance),
    };
  }

  return {
    class: "Protected",
    reason: `${server.name} is protected with policy ${expectedPolicyName}; last successful backup ${new Date(last).toISOString()}.`,
    fix: "",
    ...base,
    ...about(instance),
  };
}

function failed(
  server: InventoryServer,
  instance: InventoryInstance,
  base: { tagValue: string; expectedPolicyName: string },
  about: (i: InventoryInstance) => Partial<Classification>,
): Classification {
  const code =
    instance.errorCode ?? instance.currentProtectionState ?? instance.protectionStatus ?? "ProtectionError";
  return {
    class: "ProtectionFailed",
    reason: `Backup instance ${instance.name} of ${server.name} is in error (${code})${instance.errorMessage ? `: ${sentence(instance.errorMessage)}` : ""}.`,
    fix: `Fix the cause named by ${code} (often the vault identity's roles on the server), then re-apply the server's backup tag so auto-protection retries.`,
    ...base,
    ...about(instance),
  };
}

/** Drops a trailing period so quoted service messages end the sentence once. */
function sentence(text: string): string {
  return text.trim().replace(/\.+$/, "");
}

function formatHours(ms: number): string {
  return `${Math.round(ms / 3_600_000)} h`;
}

/** An instance whose server no longer exists: the recovery points outlive it, so a person decides. */
export function classifyOrphan(
  datasourceId: string,
  instances: readonly InventoryInstance[],
): Classification {
  const first = [...instances].sort((a, b) => a.id.localeCompare(b.id))[0];
  const names = instances.map((i) => `${i.name} (vault ${vaultName(i.vaultId)})`).join(", ");
  return {
    class: "Deleted",
    reason: `Server ${datasourceId.slice(datasourceId.lastIndexOf("/") + 1)} no longer exists; backup instance ${names} still holds its recovery points.`,
    fix: "Keep the instance while its recovery points are needed; then stop protection and delete it in the vault. This app never deletes protection.",
    instanceId: first?.id,
    vaultId: first?.vaultId,
    policyName: first?.policyName,
    lastBackupAt: first?.lastSuccessfulBackupAt,
  };
}
