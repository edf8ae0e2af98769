import type { Config } from "../config/index.js";
import { defaultProtectionSettings, type ProtectionSettings } from "./worker.js";

/** Worker settings from the app configuration; `overrides` lets tests and the local host scale time. */
export function protectionSettingsFromConfig(
  config: Config,
  overrides: Partial<ProtectionSettings> = {},
): ProtectionSettings {
  return {
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
    ...overrides,
  };
}
