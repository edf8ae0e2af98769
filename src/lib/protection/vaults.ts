import { normalizeRegion } from "../domain/region.js";
import type { CallOptions, DataProtectionPort, VaultInfo } from "./ports.js";
import { createTtlCache } from "./cache.js";

export interface VaultResolverOptions {
  /** Normalised region → vault id (PGFLEX_VAULT_MAP). */
  vaultMap: Record<string, string>;
  /** Tag marking vaults that may be used; empty disables discovery. */
  markerTag: string;
  /**
   * Subscriptions searched for marked vaults (PGFLEX_SCOPES), besides the server's own: a central backup
   * subscription is the common layout. Empty: the server's subscription only.
   */
  scopes?: readonly string[];
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
 * Region → vault, from the configured map first, else from vaults carrying the marker tag in every
 * subscription in scope and the server's own; a vault in the server's subscription wins, then the lowest
 * id. Each subscription's list is cached, so a burst of servers costs one lookup per subscription.
 */
export function createVaultResolver(
  dataProtection: DataProtectionPort,
  options: VaultResolverOptions,
): VaultResolver {
  const byId = createTtlCache<VaultInfo | undefined>(options.cacheTtlInMs, options.now);
  const discovered = createTtlCache<VaultInfo[]>(options.cacheTtlInMs, options.now);
  const marker = options.markerTag.trim().toLowerCase();
  const scopes = (options.scopes ?? []).map((s) => s.trim().toLowerCase()).filter(Boolean);
  const marked = (subscriptionId: string, callOptions: CallOptions) =>
    discovered.getOrLoad(subscriptionId, async () => {
      const out: VaultInfo[] = [];
      for await (const v of dataProtection.listVaults(subscriptionId, callOptions)) {
        if (Object.keys(v.tags ?? {}).some((k) => k.toLowerCase() === marker)) out.push(v);
      }
      return out;
    });
  return {
    async resolve(region, subscriptionId, callOptions = {}) {
      const wanted = normalizeRegion(region);
      const mapped = options.vaultMap[wanted];
      if (mapped) {
        return byId.getOrLoad(mapped.toLowerCase(), () => dataProtection.getVault(mapped, callOptions));
      }
      if (!marker) return undefined;
      const own = subscriptionId.toLowerCase();
      const subscriptions = [...new Set([own, ...scopes])];
      const lists = await Promise.allSettled(subscriptions.map((sub) => marked(sub, callOptions)));
      const candidates = lists
        .flatMap((r) => (r.status === "fulfilled" ? r.value : []))
        .filter((v) => normalizeRegion(v.location) === wanted)
        .sort(
          (a, b) =>
            Number(subscriptionOf(b.id) === own) - Number(subscriptionOf(a.id) === own) ||
            a.id.toLowerCase().localeCompare(b.id.toLowerCase()),
        );
      if (candidates[0]) return candidates[0];
      // Never conclude "no vault" from a partial inventory: a subscription that could not be listed may hold it.
      const failed = lists.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      return undefined;
    },
    forget(vaultId) {
      byId.delete(vaultId.toLowerCase());
    },
  };
}

function subscriptionOf(resourceId: string): string {
  return /^\/subscriptions\/([^/]+)/i.exec(resourceId)?.[1]?.toLowerCase() ?? "";
}
