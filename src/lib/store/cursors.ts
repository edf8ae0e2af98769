import type { TableClient } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { decodeKey, encodeKey } from "./keys.js";
import { getOrUndefined } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";
import { replaceEntity, type Entity } from "./entities.js";

/**
 * Progress markers: PK `jobs` (RK encoded vault id: newest job start seen), `schedules` (RK selector name:
 * last run) and `migrations` (RK one-off data migration: when it finished).
 */
export const CURSORS_TABLE = "cursors";

export type CursorPartition = "jobs" | "schedules" | "migrations";

export interface CursorRecord {
  partition: CursorPartition;
  /** Vault id for `jobs`, selector name for `schedules`. */
  name: string;
  /** ISO timestamp. */
  value: string;
  etag?: string;
}

export type CursorStoreOptions = OperationOptions;

export interface CursorStore {
  get(
    partition: CursorPartition,
    name: string,
    options?: CursorStoreOptions,
  ): Promise<CursorRecord | undefined>;
  list(partition: CursorPartition, options?: CursorStoreOptions): Promise<CursorRecord[]>;
  /** Writes guarded by `etag` when present (ConflictError on 412/409), else create-or-replace. */
  put(record: CursorRecord, options?: CursorStoreOptions): Promise<CursorRecord>;
}

function toCursorEntity(record: CursorRecord): Entity {
  return { partitionKey: record.partition, rowKey: encodeKey(record.name), value: record.value };
}

function fromCursorEntity(
  partition: CursorPartition,
  e: { rowKey?: string; value?: unknown; etag?: string },
): CursorRecord {
  return {
    partition,
    name: decodeKey(String(e.rowKey)),
    value: String(e.value),
    ...(e.etag ? { etag: e.etag } : {}),
  };
}

export function createCursorStore(
  connection: StorageConnection,
  deps: { tableClient?: TableClient } = {},
): CursorStore {
  const client = deps.tableClient ?? connection.tableClient(CURSORS_TABLE);
  const ensure = ensureTablesOnce(client);
  return {
    async get(partition, name, options = {}) {
      await ensure();
      const entity = await getOrUndefined(() =>
        client.getEntity<{ value: string }>(partition, encodeKey(name), { abortSignal: options.abortSignal }),
      );
      return entity && fromCursorEntity(partition, entity);
    },
    async list(partition, options = {}) {
      await ensure();
      const out: CursorRecord[] = [];
      for await (const e of client.listEntities<{ value: string }>({
        queryOptions: { filter: odata`PartitionKey eq ${partition}` },
        abortSignal: options.abortSignal,
      })) {
        out.push(fromCursorEntity(partition, e));
      }
      return out;
    },
    async put(record, options = {}) {
      await ensure();
      const etag = await replaceEntity(client, toCursorEntity(record), {
        ...options,
        ...(record.etag ? { etag: record.etag } : {}),
        row: `Cursor ${record.partition}/${record.name}`,
      });
      return { ...record, etag };
    },
  };
}
