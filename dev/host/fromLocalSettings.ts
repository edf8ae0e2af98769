import {
  startLocalHost,
  DEFAULT_PORT,
  REPO_ROOT,
  type LocalHost,
  type StartLocalHostOptions,
} from "./host.js";
import { readLocalSettings, type LocalSettings } from "./localSettings.js";

export interface StartFromLocalSettingsOptions extends StartLocalHostOptions {
  /** Folder holding local.settings.json (default: the repository root). */
  directory?: string;
}

/**
 * The app as `func start` would run it: settings from local.settings.json (or the sample, flagged in
 * `settings.fromSample`), with `env`, `port` and `keys` from the options taking precedence.
 */
export async function startFromLocalSettings(
  options: StartFromLocalSettingsOptions = {},
): Promise<{ host: LocalHost; settings: LocalSettings }> {
  const { directory = REPO_ROOT, ...rest } = options;
  const settings = await readLocalSettings(directory);
  const host = await startLocalHost({
    ...rest,
    port: rest.port ?? settings.port ?? DEFAULT_PORT,
    env: { ...settings.values, ...rest.env },
    keys: { ...settings.keys, ...rest.keys },
  });
  return { host, settings };
}
