/**
 * Keeps local.settings.sample.json in step with src/lib/config/settings.ts: every setting present
 * (new ones with their default), settings that no longer exist removed, local values kept.
 *   npx tsx dev/docs/sample-settings.ts --write
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { allSettings, type SettingDefinition } from "../../src/lib/config/settings.js";

export const SAMPLE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "local.settings.sample.json");
/** Settings the Functions runtime itself reads; not part of the app's list. */
export const RUNTIME_SETTINGS = ["FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsFeatureFlags"];

export function syncSample(
  sample: { Values?: Record<string, string> } & Record<string, unknown>,
  settings: readonly SettingDefinition[] = allSettings,
): typeof sample {
  const current = sample.Values ?? {};
  const values: Record<string, string> = {};
  for (const name of RUNTIME_SETTINGS) if (name in current) values[name] = current[name] as string;
  for (const s of settings) values[s.name] = current[s.name] ?? s.defaultValue ?? "";
  return { ...sample, Values: values };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await readFile(SAMPLE, "utf8");
  const updated = `${JSON.stringify(syncSample(JSON.parse(text) as Record<string, never>), null, 2)}\n`;
  if (process.argv[2] === "--write") {
    await writeFile(SAMPLE, updated);
    console.log(
      updated === text ? "local.settings.sample.json is up to date." : "local.settings.sample.json updated.",
    );
  } else {
    process.stdout.write(updated);
  }
}
