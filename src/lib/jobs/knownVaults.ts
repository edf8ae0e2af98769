import type { ServerStore } from "../store/servers.js";
import type { OperationOptions } from "../util/options.js";

/**
 * The vaults the poller lists: every vault of PGFLEX_VAULT_MAP plus the vault of each Protected server
 * (a discovered or central vault is on the row only).
 */
export function createKnownVaults(deps: {
  vaultMap: Readonly<Record<string, string>>;
  servers: Pick<ServerStore, "list">;
}): (options: OperationOptions) => Promise<readonly string[]> {
  return async (options) => {
    const vaults = new Set<string>(Object.values(deps.vaultMap));
    for await (const s of deps.servers.list({ state: "Protected", ...options }))
      if (s.vaultId) vaults.add(s.vaultId);
    return [...vaults];
  };
}
