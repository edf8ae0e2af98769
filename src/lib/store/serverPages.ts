import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import {
  decodePageToken,
  encodePageToken,
  InvalidContinuationTokenError,
  type PagePosition,
} from "../util/pageToken.js";
import { decodeKey } from "./keys.js";
import { parseServerId } from "../domain/serverId.js";
import {
  SERVERS_TABLE,
  fromServerEntity,
  serverKeys,
  type ListServersOptions,
  type ServerRecord,
  type ServerStore,
} from "./servers.js";
import { readKeysetPage } from "./keysetPages.js";
import { isNotFound } from "../util/notFound.js";
import { isGuid } from "../domain/guid.js";

export interface ListServersPageOptions extends ListServersOptions {
  /** Default 1000, at most 1000. */
  maxPageSize?: number;
  /** A token a previous page returned: the keys of its last server. */
  continuationToken?: string;
}

export interface ServerPage {
  items: ServerRecord[];
  continuationToken?: string;
}

/** Pages of the servers table in key order (subscription, then server id). */
export interface ServerPager {
  listPage(options?: ListServersPageOptions): Promise<ServerPage>;
}

/** The one page-token format of the API, for the last server of a page. */
export function encodeServerToken(server: Pick<ServerRecord, "resourceId">): string {
  return encodePageToken(serverKeys(server.resourceId));
}

/**
 * The position a token names; InvalidContinuationTokenError unless it is exactly what
 * {@link encodeServerToken} makes for a well-formed server id.
 */
export function decodeServerToken(token: string): PagePosition {
  const position = decodePageToken(token);
  const server = parseServerId(decodeKey(position.rowKey));
  const matches =
    isGuid(position.partitionKey) &&
    server?.subscriptionId === position.partitionKey &&
    serverKeys(server.resourceId).rowKey === position.rowKey;
  if (!matches) throw new InvalidContinuationTokenError();
  return position;
}

function pageSize(options: ListServersPageOptions): number {
  return Math.max(1, Math.min(options.maxPageSize ?? 1000, 1000));
}

/**
 * Keyset paging straight on the servers table: each page is one query (more only when the service
 * answers short pages) starting after the token's keys.
 */
export function createTableServerPager(connection: StorageConnection): ServerPager {
  const client = connection.tableClient(SERVERS_TABLE);
  return {
    async listPage(options = {}) {
      const top = pageSize(options);
      const after = options.continuationToken ? decodeServerToken(options.continuationToken) : undefined;
      const filters: string[] = [];
      if (options.subscriptionId)
        filters.push(odata`PartitionKey eq ${options.subscriptionId.toLowerCase()}`);
      if (options.state) filters.push(odata`state eq ${options.state}`);
      try {
        return await readKeysetPage(
          client,
          { filters, top, abortSignal: options.abortSignal, ...(after ? { after } : {}) },
          fromServerEntity,
        );
      } catch (e) {
        // No table yet: nothing was ever recorded.
        if (!isNotFound(e)) throw e;
        return { items: [] };
      }
    },
  };
}

/** The same pages over any {@link ServerStore} (reads it all, in key order): in-memory stores and fakes. */
export function createListServerPager(store: Pick<ServerStore, "list">): ServerPager {
  const order = (s: ServerRecord): string => {
    const k = serverKeys(s.resourceId);
    return `${k.partitionKey}\u0000${k.rowKey}`;
  };
  return {
    async listPage(options = {}) {
      const top = pageSize(options);
      const after = options.continuationToken ? decodeServerToken(options.continuationToken) : undefined;
      const from = after ? `${after.partitionKey}\u0000${after.rowKey}` : undefined;
      const { maxPageSize: _size, continuationToken: _token, ...filter } = options;
      const all: ServerRecord[] = [];
      for await (const s of store.list(filter)) if (from === undefined || order(s) > from) all.push(s);
      all.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
      const items = all.slice(0, top);
      const last = items.at(-1);
      return all.length > top && last ? { items, continuationToken: encodeServerToken(last) } : { items };
    },
  };
}
