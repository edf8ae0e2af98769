import type { TableClient, TableEntityResult } from "@azure/data-tables";
import type { OperationOptions } from "../util/options.js";
import { afterPositionFilter, encodePageToken, type PagePosition } from "../util/pageToken.js";

export interface KeysetPageOptions extends OperationOptions {
  /** OData conditions, joined with `and`. */
  filters: readonly string[];
  /** Resume after these keys (a decoded continuation token). */
  after?: PagePosition;
  /** Page size. */
  top: number;
  /** Told of each page the service answers (request counting). */
  onPage?: () => void;
}

export interface KeysetPage<T> {
  items: T[];
  /** The last item's keys, when more follow. */
  continuationToken?: string;
}

/**
 * One page of a table in key order after `after`: the service may answer short pages, so pages are read
 * until `top` items or the end. The token is ours (the last item's keys), never the SDK's.
 */
export async function readKeysetPage<T>(
  client: TableClient,
  options: KeysetPageOptions,
  map: (entity: TableEntityResult<Record<string, unknown>>) => T,
): Promise<KeysetPage<T>> {
  const filters = [...options.filters, ...(options.after ? [afterPositionFilter(options.after)] : [])];
  const rows: Array<{ item: T; keys: PagePosition }> = [];
  let more = false;
  for await (const page of client
    .listEntities<Record<string, unknown>>({
      queryOptions: filters.length ? { filter: filters.join(" and ") } : undefined,
      abortSignal: options.abortSignal,
    })
    .byPage({ maxPageSize: options.top })) {
    options.onPage?.();
    for (const entity of page)
      rows.push({
        item: map(entity),
        keys: { partitionKey: entity.partitionKey ?? "", rowKey: entity.rowKey ?? "" },
      });
    if (rows.length >= options.top) {
      more = rows.length > options.top || Boolean(page.continuationToken);
      rows.length = options.top;
      break;
    }
  }
  const last = rows.at(-1);
  const items = rows.map((row) => row.item);
  return more && last ? { items, continuationToken: encodePageToken(last.keys) } : { items };
}
