/**
 * The states a server's row can be in, and the named groups of them every part of the app (worker, sweeps,
 * backups, CLI, dashboard) reads. Transitions: docs/architecture.md.
 */
export const ProtectionStates = [
  "Pending",
  "WaitingForServer",
  "Validating",
  "Configuring",
  "Protected",
  "OptedOut",
  "UnknownPolicyTag",
  "NoVaultForRegion",
  "MissingPermissions",
  "ProtectedElsewhere",
  "Failed",
  "Deleted",
  "ProtectedUntagged",
  "WouldProtect",
  "Unsupported",
] as const;
export type ProtectionState = (typeof ProtectionStates)[number];

/** The worker still owes work: a message for the server should be processed. */
export const InProgressStates: readonly ProtectionState[] = [
  "Pending",
  "WaitingForServer",
  "Validating",
  "Configuring",
];

/** A protection run has ended: a repeated delivery of the same cause has nothing left to do. */
export const RunEndedStates: readonly ProtectionState[] = ProtectionStates.filter(
  (state) => !InProgressStates.includes(state),
);

/** Stops that only a person can resolve: entering one raises a `ProtectionFailed` alert. */
export const NeedsAttentionStates: readonly ProtectionState[] = [
  "Failed",
  "MissingPermissions",
  "NoVaultForRegion",
  "UnknownPolicyTag",
];

/** Ends a person is content with: protected, or deliberately not protected by this app. */
export const SatisfiedStates: readonly ProtectionState[] = [
  "Protected",
  "OptedOut",
  "ProtectedElsewhere",
  "ProtectedUntagged",
  "Deleted",
  "WouldProtect",
];

/**
 * Servers Azure Backup cannot protect (a read replica, a server over 1 TB): settled with the reason, neither
 * satisfied nor needing a person's attention (no alert, no retry); only a change to the server moves them.
 */
export const UnsupportedStates: readonly ProtectionState[] = ["Unsupported"];

export function isProtectionState(value: string): value is ProtectionState {
  return (ProtectionStates as readonly string[]).includes(value);
}
