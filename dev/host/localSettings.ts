import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { HostKeys } from "./keys.js";

/**
 * `local.settings.json` as Core Tools reads it (`Values` become app settings), plus the local host's
 * own `Host` fields: `LocalHttpPort`, and the keys `FunctionKey`, `MasterKey`, `EventGridKey`
 * (empty: a fresh key is generated at each start and printed).
 */
export interface LocalSettingsFile {
  IsEncrypted?: boolean;
  Values?: Record<string, string>;
  Host?: {
    LocalHttpPort?: number;
    FunctionKey?: string;
    MasterKey?: string;
    EventGridKey?: string;
  };
}

export interface LocalSettings {
  /** The file read. */
  readonly path: string;
  /** True when local.settings.json was missing and the sample was used. */
  readonly fromSample: boolean;
  readonly values: Record<string, string>;
  readonly port: number | undefined;
  readonly keys: Partial<HostKeys>;
}

export const LOCAL_SETTINGS = "local.settings.json";
export const LOCAL_SETTINGS_SAMPLE = "local.settings.sample.json";

export async function readLocalSettings(directory: string): Promise<LocalSettings> {
  const own = join(directory, LOCAL_SETTINGS);
  const fromSample = !existsSync(own);
  const path = fromSample ? join(directory, LOCAL_SETTINGS_SAMPLE) : own;
  let file: LocalSettingsFile;
  try {
    file = JSON.parse(await readFile(path, "utf8")) as LocalSettingsFile;
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (file.IsEncrypted) throw new Error(`${path} is encrypted; the local host reads only plain settings.`);
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(file.Values ?? {})) values[name] = String(value);
  return {
    path,
    fromSample,
    values,
    port: file.Host?.LocalHttpPort,
    keys: {
      functionKey: file.Host?.FunctionKey,
      masterKey: file.Host?.MasterKey,
      eventGridKey: file.Host?.EventGridKey,
    },
  };
}
