/**
 * The vocabulary of compliance shared by the sweep that decides it, the store that keeps it and the
 * inventory that reports failures: pure values and shapes, no behaviour.
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
  /**
   * Tagged, but Azure Backup cannot protect it (a read replica, a server over 1 TB): neither compliant nor
   * owed, never remediated, and left out of the compliance percentage.
   */
  "Unsupported",
] as const;
export type ComplianceClass = (typeof ComplianceClasses)[number];

/**
 * Classes that need nothing from anyone. Deleted, Unclassified and Unsupported count in neither direction:
 * the compliance percentage is compliant / (compliant + non-compliant) over the other classes only.
 */
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
