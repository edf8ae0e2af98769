import type { Config } from "../config/index.js";
import { defaultProtectionSettings, type ProtectionSettings } from "./worker.js";

/** Durations divided by PGFLEX_TIME_SCALE (a time-scaled local emulator); 1 in Azure. */
const SCALED = [
  "waitForServerDeadlineInMs",
  "rbacPropagationInMs",
  "leaseInMs",
  "retryBaseInMs",
  "retryCapInMs",
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
    autoGrantRoles: config.autoGrantRoles,
    createMissingPolicies: config.createMissingPolicies,
    policyRetention: config.policyRetention,
    waitForServerDeadlineInMs: config.waitForServerDeadlineMinutes * 60_000,
    rbacPropagationInMs: config.rbacPropagationMinutes * 60_000,
  };
  const scale = config.timeScale ?? 1;
  if (scale > 1) for (const k of SCALED) settings[k] = Math.max(1, Math.round(settings[k] / scale));
  return { ...settings, ...overrides };
}
