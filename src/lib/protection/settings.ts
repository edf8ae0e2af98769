import type { Config } from "../config/index.js";

/** Settings the worker reads; `protectionSettingsFromConfig` builds them from the app configuration. */
export interface ProtectionSettings {
  mode: "enforce" | "report";
  backupTag: string;
  policyMap: Record<string, string>;
  optOutValues: readonly string[];
  vaultMap: Record<string, string>;
  vaultMarkerTag: string;
  /** Subscriptions in scope (PGFLEX_SCOPES), searched for marked vaults; empty: the server's own. */
  scopes: readonly string[];
  autoGrantRoles: boolean;
  createMissingPolicies: boolean;
  policyRetention: string;
  /** How long a not-Ready server is waited for before `Failed`. */
  waitForServerDeadlineInMs: number;
  /** How long validation keeps retrying missing permissions (RBAC propagation). */
  rbacPropagationInMs: number;
  /** Deliveries after which an unexpected error leaves the row `Failed` instead of retrying (host maxDequeueCount). */
  maxDequeueCount: number;
  /** How long a worker holds a server before another request may take over. */
  leaseInMs: number;
  /** First retry-later delay; doubles per attempt. */
  retryBaseInMs: number;
  /** Cap of the retry-later delay. */
  retryCapInMs: number;
  /** First delay after a transient Azure failure (5xx, 429, reset); doubles per failure. */
  transientRetryBaseInMs: number;
  /** Cap of the delay after a transient failure. */
  transientRetryCapInMs: number;
  /**
   * Backoff a request may wait in all while retrying transient failures before its row shows `Failed`.
   * Counted in scheduled waits, not wall time, so a time-scaled run's host latency does not shorten it.
   */
  transientRetryDeadlineInMs: number;
  /** Wait before the first read of a new backup instance (the service takes about a minute to configure). */
  configureFirstPollInMs: number;
  /** Interval between reads of a backup instance that is still `ConfiguringProtection`. */
  configurePollInMs: number;
  /** Poll interval of validateForBackup (the service takes about 40 s). */
  validatePollInMs: number;
  /** TTL of vault, policy and role lookups. */
  cacheTtlInMs: number;
}

export const defaultProtectionSettings: ProtectionSettings = {
  mode: "enforce",
  backupTag: "backup",
  policyMap: {},
  optOutValues: ["none", "off"],
  vaultMap: {},
  vaultMarkerTag: "pgflex-autoprotect",
  scopes: [],
  autoGrantRoles: false,
  createMissingPolicies: true,
  policyRetention: "P12W",
  waitForServerDeadlineInMs: 120 * 60_000,
  rbacPropagationInMs: 30 * 60_000,
  maxDequeueCount: 5,
  leaseInMs: 10 * 60_000,
  retryBaseInMs: 30_000,
  retryCapInMs: 15 * 60_000,
  transientRetryBaseInMs: 10_000,
  transientRetryCapInMs: 5 * 60_000,
  transientRetryDeadlineInMs: 30 * 60_000,
  configureFirstPollInMs: 75_000,
  configurePollInMs: 15_000,
  validatePollInMs: 45_000,
  cacheTtlInMs: 15 * 60_000,
};

/** Durations divided by PGFLEX_TIME_SCALE (a time-scaled local emulator); 1 in Azure. */
const SCALED = [
  "waitForServerDeadlineInMs",
  "rbacPropagationInMs",
  "leaseInMs",
  "retryBaseInMs",
  "retryCapInMs",
  "transientRetryBaseInMs",
  "transientRetryCapInMs",
  "transientRetryDeadlineInMs",
  "configureFirstPollInMs",
  "configurePollInMs",
  "validatePollInMs",
] as const;

/** Worker settings from the app configuration; `overrides` (tests) win and are not scaled. */
export function protectionSettingsFromConfig(
  config: Config,
  overrides: Partial<ProtectionSettings> = {},
): ProtectionSettings {
  const settings: ProtectionSettings = {
    ...defaultProtectionSettings,
    mode: config.mode,
    backupTag: config.backupTag,
    policyMap: config.policyMap,
    optOutValues: config.optOutValues,
    vaultMap: config.vaultMap,
    vaultMarkerTag: config.vaultMarkerTag,
    scopes: config.scopes,
    autoGrantRoles: config.autoGrantRoles,
    createMissingPolicies: config.createMissingPolicies,
    policyRetention: config.policyRetention,
    waitForServerDeadlineInMs: config.waitForServerDeadlineMinutes * 60_000,
    rbacPropagationInMs: config.rbacPropagationMinutes * 60_000,
    transientRetryDeadlineInMs: config.transientRetryMinutes * 60_000,
  };
  const scale = config.timeScale ?? 1;
  if (scale > 1) for (const k of SCALED) settings[k] = Math.max(1, Math.round(settings[k] / scale));
  return { ...settings, ...overrides };
}
