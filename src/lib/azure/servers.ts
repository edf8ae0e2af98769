import type { ArmClients } from "./clients.js";
import { isRestError } from "../errors.js";
import { parseServerId } from "../domain/serverId.js";

/** What protection needs to know about a PostgreSQL Flexible Server. */
export interface FlexibleServerInfo {
  /** Id as ARM returns it. */
  id: string;
  name: string;
  /** Region as ARM spells it (`West Europe` or `westeurope`); normalise before comparing. */
  location: string;
  /** `properties.state`: `Ready`, `Provisioning`, `Updating`, `Stopped`, ... */
  state: string;
  tags: Record<string, string>;
}

export interface GetServerOptions {
  abortSignal?: AbortSignal;
}

export interface ServersClient {
  /** The server, or undefined when ARM answers 404 (deleted or never existed). */
  getServer(resourceId: string, options?: GetServerOptions): Promise<FlexibleServerInfo | undefined>;
}

/**
 * Thin wrapper over `@azure/arm-postgresql-flexible`; SDK clients come from the shared ARM client
 * factory (`clients.ts`: endpoint, credential, pacing).
 */
export function createServersClient(clients: Pick<ArmClients, "postgres">): ServersClient {
  return {
    async getServer(resourceId, opts = {}) {
      const parts = parseServerId(resourceId);
      if (!parts) throw new TypeError(`"${resourceId}" is not a PostgreSQL Flexible Server resource id.`);
      const client = await clients.postgres(parts.subscriptionId);
      try {
        const s = await client.servers.get(parts.resourceGroup, parts.serverName, {
          abortSignal: opts.abortSignal,
        });
        return {
          id: s.id ?? resourceId,
          name: s.name ?? parts.serverName,
          location: s.location,
          state: s.state ?? "Unknown",
          tags: s.tags ?? {},
        };
      } catch (e) {
        if (isRestError(e) && e.statusCode === 404) return undefined;
        throw e;
      }
    },
  };
}
