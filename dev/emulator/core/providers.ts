import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { EmulatorProvider, EmulatorProviderFactory, ProviderFactoryOptions } from "./provider.js";

export type ProviderSource = EmulatorProvider | EmulatorProviderFactory;

export const PROVIDERS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "providers");

export function instantiate(source: ProviderSource, options: ProviderFactoryOptions): EmulatorProvider {
  return typeof source === "function" ? source(options) : source;
}

/**
 * Discovers `providers/<name>/index.ts` (or `.js` once compiled), sorted by folder name. A module whose
 * import fails is reported through `onError` and skipped, so one broken provider does not take the
 * whole emulator down during development.
 */
export async function discoverProviders(
  onError: (name: string, error: unknown) => void,
): Promise<ProviderSource[]> {
  const entries = await readdir(PROVIDERS_DIR, { withFileTypes: true }).catch(() => []);
  const found: ProviderSource[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const candidates = ["index.ts", "index.js"].map((file) => join(PROVIDERS_DIR, entry.name, file));
    const file = candidates.find((candidate) => existsSync(candidate));
    if (!file) continue;
    try {
      const module = (await import(pathToFileURL(file).href)) as { default?: unknown; provider?: unknown };
      const source = module.default ?? module.provider;
      if (
        typeof source === "function" ||
        (typeof source === "object" && source !== null && "routes" in source)
      ) {
        found.push(source as ProviderSource);
      } else onError(entry.name, new TypeError("exports neither a default nor a `provider` provider"));
    } catch (error) {
      onError(entry.name, error);
    }
  }
  return found;
}
