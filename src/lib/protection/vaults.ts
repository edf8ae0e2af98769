import { normalizeRegion } from "../config/settings.js";
import type { CallOptions, DataProtectionPort, VaultInfo } from "./ports.js";
import { createTtlCache } from "./cache.js";

export interface VaultResolverOptions {
  /** Normalised region → vault id (PGFLEX_VAULT_MAP). */
  vaultMap: Record<string, string>;
  /** Tag marking vaults that may be used; empty disables discovery. */
  markerTag: string;
  cacheTtlInMs: number;
  now?: () => number;
}

export interface VaultResolver {
  /** The vault serving `region` for servers of `subscriptionId`, or undefined when none does. */
  resolve(region: string, subscriptionId: string, options?: CallOptions): Promise<VaultInfo | undefined>;
  /** Drop what is known about a vault (e.g. after a 404). */
  forget(vaultId: string): void;
}

/**
 * Region → vault, from the configured map first, else from vaults in the server's subscription carrying
 * the marker tag. Answers are cached so a burst of servers costs one lookup per vault.
 */
export function createVaultResolver(
  dataProtection: DataProtectionPort,
  options: VaultResolverOptions,
): VaultResolver {
  const byId = createTtlCache<VaultInfo | undefined>(options.cacheTtlInMs, options.now);
  const discovered = createTtlCache<VaultInfo[]>(options.cacheTtlInMs, options.now);
  const marker = options.markerTag.trim().toLowerCase();
  return {
    async resolve(region, subscriptionId, callOptions = {}) {
      const wanted = normalizeRegion(region);
      const mapped = options.vaultMap[wanted];
      if (mapped) {
        return byId.getOrLoad(mapped.toLowerCase(), () => dataProtection.getVault(mapped, callOptions));
      }
      if (!marker) return undefined;
      const vaults = await discovered.getOrLoad(subscriptionId.toLowerCase(), async () => {
        const out: VaultInfo[] = [];
        for await (const v of dataProtection.listVaults(subscriptionId, callOptions)) {
          if (Object.keys(v.tags ?? {}).some((k) => k.toLowerCase() === marker)) out.push(v);
        }
        return out.sort((a, b) => a.id.localeCompare(b.id));
      });
      return vaults.find((v) => normalizeRegion(v.location) === wanted);
    },
    forget(vaultId) {
      byId.delete(vaultId.toLowerCase());
    },
  };
}
