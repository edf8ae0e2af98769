import type { TableClient } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { decodeKey, encodeKey } from "./keys.js";
import { ConflictError, isRestError } from "../errors.js";

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

export interface CursorStoreOptions {
  abortSignal?: AbortSignal;
}

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

export function createCursorStore(
  connection: StorageConnection,
  deps: { tableClient?: TableClient } = {},
): CursorStore {
  const client = deps.tableClient ?? connection.tableClient(CURSORS_TABLE);
  const ensure = ensureTablesOnce(client);
  const from = (
    partition: CursorPartition,
    e: { rowKey?: string; value?: unknown; etag?: string },
  ): CursorRecord => ({
    partition,
    name: decodeKey(String(e.rowKey)),
    value: String(e.value),
    ...(e.etag ? { etag: e.etag } : {}),
  });
  return {
    async get(partition, name, options = {}) {
      await ensure();
      try {
        return from(
          partition,
          await client.getEntity<{ value: string }>(partition, encodeKey(name), {
            abortSignal: options.abortSignal,
          }),
        );
      } catch (e) {
        if (isRestError(e) && e.statusCode === 404) return undefined;
        throw e;
      }
    },
    async list(partition, options = {}) {
      await ensure();
      const out: CursorRecord[] = [];
      for await (const e of client.listEntities<{ value: string }>({
        queryOptions: { filter: odata`PartitionKey eq ${partition}` },
        abortSignal: options.abortSignal,
      })) {
        out.push(from(partition, e));
      }
      return out;
    },
    async put(record, options = {}) {
      await ensure();
      const entity = { partitionKey: record.partition, rowKey: encodeKey(record.name), value: record.value };
      try {
        const res = record.etag
          ? await client.updateEntity(entity, "Replace", {
              etag: record.etag,
              abortSignal: options.abortSignal,
            })
          : await client.upsertEntity(entity, "Replace", { abortSignal: options.abortSignal });
        return { ...record, etag: res.etag };
      } catch (e) {
        if (isRestError(e) && (e.statusCode === 412 || e.statusCode === 404)) {
          throw new ConflictError(`Cursor ${record.partition}/${record.name} changed concurrently.`, {
            cause: e,
          });
        }
        throw e;
      }
    },
  };
}
