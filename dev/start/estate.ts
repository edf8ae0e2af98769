import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { normalizeRegion } from "../../src/lib/domain/region.js";
import type { EmulatorSeed } from "../emulator/index.js";

/** The seed `npm start` loads: seventeen servers covering every protection case (edit it freely). */
export const DEMO_ESTATE_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "emulator",
  "seeds",
  "demo-estate.json",
);

/** Tag values of the demo estate and the policies they map to. */
export const DEMO_POLICY_MAP = "weekly=pgflex-weekly,gold=pgflex-gold";
export const DEMO_MARKER_TAG = "pgflex-autoprotect";

interface SeedVault {
  id: string;
  location: string;
  tags?: Record<string, string>;
}

export interface Estate {
  seed: EmulatorSeed;
  subscriptionIds: string[];
  regions: string[];
  /** Region → id of the vault carrying the marker tag (what `PGFLEX_VAULT_MAP` becomes). */
  vaultMap: Record<string, string>;
  serverCount: number;
  /** Ids of the seeded blob containers (what `PGFLEX_RESTORE_TARGETS` becomes): the demo's restore targets. */
  restoreTargets: string[];
}

interface SeedStorageAccount {
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  containers?: string[];
}

export async function loadEstate(path: string = DEMO_ESTATE_PATH): Promise<Estate> {
  const seed = JSON.parse(await readFile(path, "utf8")) as EmulatorSeed;
  return describeEstate(seed);
}

export function describeEstate(seed: EmulatorSeed): Estate {
  const subscriptionIds = [
    ...new Set([
      ...(seed.subscriptions ?? []).map((s) => s.subscriptionId.toLowerCase()),
      ...(seed.servers ?? []).flatMap((s) => (s.subscriptionId ? [s.subscriptionId.toLowerCase()] : [])),
    ]),
  ];
  // Some servers' locations are display names ("East US"), as PostgreSQL answers them.
  const regions = [...new Set((seed.servers ?? []).map((s) => normalizeRegion(s.location)))].sort();
  const slice = (seed.providers?.["dataprotection"] ?? {}) as { vaults?: Record<string, SeedVault> };
  const vaultMap: Record<string, string> = {};
  for (const vault of Object.values(slice.vaults ?? {})) {
    const marked = Object.keys(vault.tags ?? {}).some((t) => t.toLowerCase() === DEMO_MARKER_TAG);
    if (marked) vaultMap[normalizeRegion(vault.location)] = vault.id;
  }
  const storage = (seed.providers?.["storage"] ?? {}) as { accounts?: Record<string, SeedStorageAccount> };
  const restoreTargets = Object.values(storage.accounts ?? {}).flatMap((a) =>
    (a.containers ?? []).map(
      (c) =>
        `/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroupName}/providers/Microsoft.Storage/storageAccounts/${a.name}/blobServices/default/containers/${c}`,
    ),
  );
  return {
    seed,
    subscriptionIds,
    regions,
    vaultMap,
    serverCount: (seed.servers ?? []).length,
    restoreTargets,
  };
}

/** `region=id` pairs as PGFLEX_VAULT_MAP reads them. */
export function vaultMapSetting(vaultMap: Record<string, string>): string {
  return Object.entries(vaultMap)
    .map(([region, id]) => `${region}=${id}`)
    .join(",");
}
