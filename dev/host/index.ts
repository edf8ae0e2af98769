/** The local Functions host: serves the app's declarations with the real host's contracts (see README). */
export { startLocalHost, DEFAULT_PORT, DEFAULT_MAX_REQUEST_BODY_BYTES, REPO_ROOT } from "./host.js";
export type { InvokeOptions, LocalHost, StartLocalHostOptions } from "./host.js";
export type { HostKeys } from "./keys.js";
export type { HostJson, HostSettings } from "./hostJson.js";
export { readLocalSettings, LOCAL_SETTINGS, LOCAL_SETTINGS_SAMPLE } from "./localSettings.js";
export type { LocalSettings } from "./localSettings.js";
export { startFromLocalSettings } from "./fromLocalSettings.js";
export type { StartFromLocalSettingsOptions } from "./fromLocalSettings.js";
export { startLocalHosts } from "./hosts.js";
export type { HostInstance, LocalHosts, StartLocalHostsOptions } from "./hosts.js";
