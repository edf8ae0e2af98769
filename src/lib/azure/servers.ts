import type { TokenCredential } from "@azure/core-auth";
import type {
  PostgreSQLManagementFlexibleServerClient,
  PostgreSQLManagementFlexibleServerClientOptionalParams,
} from "@azure/arm-postgresql-flexible";
import { isRestError } from "../errors.js";
import { parseServerId } from "../store/servers.js";

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

export interface ServersClientOptions {
  /** ARM endpoint (the emulator's URL locally). */
  endpoint?: string;
  /** Extra pipeline options (TLS for the emulator, retry, pacing policies). */
  clientOptions?: PostgreSQLManagementFlexibleServerClientOptionalParams;
}

/**
 * Thin wrapper over `@azure/arm-postgresql-flexible` (imported lazily for cold start). One SDK client
 * per subscription, reused.
 */
export function createServersClient(
  credential: TokenCredential,
  options: ServersClientOptions = {},
): ServersClient {
  const clients = new Map<string, Promise<PostgreSQLManagementFlexibleServerClient>>();
  const clientFor = (subscriptionId: string) => {
    let c = clients.get(subscriptionId);
    if (!c) {
      c = import("@azure/arm-postgresql-flexible").then(
        (m) =>
          new m.PostgreSQLManagementFlexibleServerClient(credential, subscriptionId, {
            ...options.clientOptions,
            ...(options.endpoint
              ? {
                  endpoint: options.endpoint,
                  credentialScopes: [`${new URL(options.endpoint).origin}/.default`],
                }
              : {}),
          }),
      );
      clients.set(subscriptionId, c);
    }
    return c;
  };
  return {
    async getServer(resourceId, opts = {}) {
      const parts = parseServerId(resourceId);
      if (!parts) throw new TypeError(`"${resourceId}" is not a PostgreSQL Flexible Server resource id.`);
      const client = await clientFor(parts.subscriptionId);
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
