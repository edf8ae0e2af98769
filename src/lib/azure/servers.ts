import type { ArmClients } from "./clients.js";
import { parseServerId } from "../domain/serverId.js";
import { getOrUndefined } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";

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
  /** `properties.replicationRole` (`None`, `Primary`, `AsyncReplica`, `GeoAsyncReplica`) when ARM says. */
  replicationRole?: string;
  /** `properties.storage.storageSizeGB` when ARM says. */
  storageSizeGB?: number;
}

export type GetServerOptions = OperationOptions;

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
      const s = await getOrUndefined(() =>
        client.servers.get(parts.resourceGroup, parts.serverName, { abortSignal: opts.abortSignal }),
      );
      return (
        s && {
          id: s.id ?? resourceId,
          name: s.name ?? parts.serverName,
          location: s.location,
          state: s.state ?? "Unknown",
          tags: s.tags ?? {},
          ...(s.replicationRole ? { replicationRole: s.replicationRole } : {}),
          ...(typeof s.storage?.storageSizeGB === "number" ? { storageSizeGB: s.storage.storageSizeGB } : {}),
        }
      );
    },
  };
}
