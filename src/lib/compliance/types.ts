/**
 * What a compliance sweep sees and decides. Inventory items are normalised (lower-cased ids, normalised
 * regions) by src/lib/azure/inventory so classification never deals with ARM casing.
 */

/** Every class a server (or an orphaned backup instance) can end up in. */
export const ComplianceClasses = [
  "Protected",
  "ProtectedStale",
  "TaggedUnprotected",
  "ProtectionFailed",
  "WrongPolicy",
  "ProtectedUntagged",
  "OptedOut",
  "ProtectedElsewhere",
  "Deleted",
  /** No backup tag and no backup instance: nothing was asked, nothing is owed. */
  "Untagged",
  /** The sweep could not decide (malformed tags, or an inventory failure hid the facts); listed as a failure. */
  "Unclassified",
] as const;
export type ComplianceClass = (typeof ComplianceClasses)[number];

/** Classes that need nothing from anyone. Deleted and Unclassified count in neither direction. */
export const CompliantClasses: ReadonlySet<ComplianceClass> = new Set<ComplianceClass>([
  "Protected",
  "ProtectedUntagged",
  "OptedOut",
  "ProtectedElsewhere",
  "Untagged",
]);

export const NonCompliantClasses: ReadonlySet<ComplianceClass> = new Set<ComplianceClass>([
  "ProtectedStale",
  "TaggedUnprotected",
  "ProtectionFailed",
  "WrongPolicy",
]);

/** Classes that `enforce` mode remediates by enqueueing protection (never stop or delete). */
export const RemediatedClasses: ReadonlySet<ComplianceClass> = new Set<ComplianceClass>([
  "TaggedUnprotected",
  "WrongPolicy",
]);

export interface InventoryServer {
  /** Lower-cased ARM id. */
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  /** Normalised region, e.g. `westeurope`. */
  location: string;
  /** Tags exactly as ARM returned them (may be malformed: classification checks). */
  tags: unknown;
  /** `properties.state` (Ready, Stopped, ...) when known. */
  state?: string;
}

export interface InventoryVault {
  id: string;
  name: string;
  subscriptionId: string;
  location: string;
  tags: Record<string, string>;
}

export interface InventoryInstance {
  /** Lower-cased ARM id of the backup instance. */
  id: string;
  name: string;
  /** Lower-cased id of the vault holding it. */
  vaultId: string;
  /** Lower-cased id of the protected server (`dataSourceInfo.resourceID`). */
  datasourceId: string;
  /** `properties.protectionStatus.status`, e.g. ProtectionConfigured, ConfiguringProtectionFailed. */
  protectionStatus?: string;
  /** `properties.currentProtectionState`, e.g. ProtectionConfigured, ProtectionError, BackupSchedulesSuspended. */
  currentProtectionState?: string;
  /** Error reported by the service for a failed protection (`protectionStatus.errorDetails`). */
  errorCode?: string;
  errorMessage?: string;
  /** Lower-cased policy id and its last segment. */
  policyId?: string;
  policyName?: string;
  /** ISO time of the last successful backup job, from the vault's job history. */
  lastSuccessfulBackupAt?: string;
  /** No success found and the vault's job history could not be read: staleness is unknown. */
  lastBackupUnknown?: boolean;
  /** Backup period of the policy (e.g. P1W ⇒ 7 days) when the inventory knows it. */
  policyPeriodInMs?: number;
}

/** One problem met during a sweep; the sweep goes on and reports itself partial. */
export interface SweepFailure {
  /** What failed: a subscription listing, a vault listing, one server's tags, a remediation… */
  scope: "subscription" | "vault" | "server" | "jobs" | "remediation" | "sweep";
  /** The ARM id (or subscription id) concerned. */
  target: string;
  /** ARM error code or our own, e.g. AuthorizationFailed, ResourceNotFound, TooManyRequests, MalformedTags. */
  code: string;
  message: string;
}

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

/** The verdict for one server (or one orphaned datasource for Deleted). */
export interface Classification {
  class: ComplianceClass;
  /** Why, in a sentence a person can act on. */
  reason: string;
  /** What to do next (empty when nothing is owed). */
  fix: string;
  /** The instance the verdict is about, when there is one. */
  instanceId?: string;
  vaultId?: string;
  policyName?: string;
  /** Policy the tag asks for. */
  expectedPolicyName?: string;
  tagValue?: string;
  lastBackupAt?: string;
}

/** One row of a sweep report. */
export interface SweepRow extends Classification {
  serverId: string;
  subscriptionId: string;
  location?: string;
  /** Class in the previous complete sweep, when the server was in it. */
  previousClass?: ComplianceClass;
  /** `enqueued` when enforce mode asked the protection worker to act, `wouldEnqueue` in report mode / dry run. */
  remediation?: "enqueued" | "wouldEnqueue" | "failed";
}
