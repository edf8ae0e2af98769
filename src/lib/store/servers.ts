import type { TableClient, TableEntityResult } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { encodeKey } from "./keys.js";
import { odata } from "@azure/data-tables";
import { ConflictError, isRestError } from "../errors.js";
import type { ProtectionState } from "../domain/protectionStates.js";
import { getOrUndefined, isNotFound } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";
import { createEntity, replaceEntity, storedFields, type Entity } from "./entities.js";

/** Table holding one row per known server (DESIGN: PartitionKey subscription id, RowKey encoded server id). */
export const SERVERS_TABLE = "servers";

/** One server as this product knows it. Optional fields are absent until known. */
export interface ServerRecord {
  /** Readable ARM id, lower-cased (ids are case-insensitive). */
  resourceId: string;
  subscriptionId: string;
  resourceGroup: string;
  serverName: string;
  /** Normalised region (lower-case, no spaces), e.g. `westeurope`. */
  region?: string;
  /** Value of the backup tag as last seen; absent when the tag is missing. */
  tagValue?: string;
  policyName?: string;
  vaultId?: string;
  /** Backup instance name in `vaultId` (deterministic, see protection/naming.ts). */
  instanceName?: string;
  state: ProtectionState;
  lastErrorCode?: string;
  lastErrorMessage?: string;
  /** Fix-it text for a person, e.g. the exact `az role assignment create` command. */
  fix?: string;
  /** Attempts made in the current protection run (reset when a run finishes). */
  attempts: number;
  /** Cause of the last change: `event:<id>`, `sweep:<id>` or `api`. */
  lastCause?: string;
  /** When the worker started waiting for the server (ISO); bounds WaitingForServer. */
  waitingSince?: string;
  /** Request id of the worker currently working on the server (see protection/worker.ts). */
  leaseOwner?: string;
  /** ISO time until which `leaseOwner` holds the server; after it another request may take over. */
  leaseUntil?: string;
  /** Cause of a request that arrived while another held the lease; evaluated again when the holder settles. */
  recheckCause?: string;
  /** Serialized LRO state of an in-flight configure-protection, to resume after a crash. */
  operationState?: string;
  /** When this product first recorded the server Protected (ISO); a new instance is not stale before its first backup is due. */
  protectedAt?: string;
  lastBackupAt?: string;
  lastBackupStatus?: string;
  lastJobId?: string;
  /** `state|code` of the stop a `ProtectionFailed` alert was raised for; cleared when the server leaves it. */
  alertedFor?: string;
  /** ISO timestamp of the last write by this product. */
  updatedAt: string;
  /** ETag of the row as read; absent for a record not yet stored. */
  etag?: string;
}

export interface ListServersOptions extends OperationOptions {
  subscriptionId?: string;
  state?: ProtectionState;
}

export type ServerWriteOptions = OperationOptions;

export interface ServerStore {
  /** The row for `resourceId`, or undefined. */
  get(resourceId: string, options?: ServerWriteOptions): Promise<ServerRecord | undefined>;
  list(options?: ListServersOptions): AsyncIterableIterator<ServerRecord>;
  /**
   * Creates the row; ConflictError when it already exists. Returns the stored record with its etag.
   */
  create(record: Omit<ServerRecord, "etag">, options?: ServerWriteOptions): Promise<ServerRecord>;
  /**
   * Replaces the row guarded by `record.etag` (required); ConflictError on 412 (someone else wrote
   * it) or 404. Returns the stored record with its new etag.
   */
  update(record: ServerRecord, options?: ServerWriteOptions): Promise<ServerRecord>;
  /**
   * Writes without a guard when `record.etag` is absent (create-or-replace), else like {@link update}.
   * Prefer create/update for state transitions.
   */
  upsert(record: ServerRecord, options?: ServerWriteOptions): Promise<ServerRecord>;
  /**
   * Deletes the row guarded by `record.etag` (required): ConflictError on 412 (someone wrote it since it was
   * read); a row already gone is success.
   */
  delete(record: ServerRecord, options?: ServerWriteOptions): Promise<void>;
  /**
   * Deletes the `Deleted` rows last written before `cutoff` (history past its retention), each guarded by the
   * ETag listed so a row written meanwhile stays; the ids removed.
   */
  deleteDeletedBefore(cutoff: Date, options?: ServerWriteOptions): Promise<string[]>;
}

/** True for a `Deleted` row whose last write is older than `cutoff`. */
function deletedBefore(record: ServerRecord, cutoff: Date): boolean {
  const at = Date.parse(record.updatedAt);
  return record.state === "Deleted" && Number.isFinite(at) && at < cutoff.getTime();
}

export function serverKeys(resourceId: string): { partitionKey: string; rowKey: string } {
  const lower = resourceId.toLowerCase();
  const sub = /^\/subscriptions\/([^/]+)/.exec(lower)?.[1];
  if (!sub) throw new TypeError(`"${resourceId}" is not a subscription-scoped resource id.`);
  return { partitionKey: sub, rowKey: encodeKey(lower) };
}

type ServerEntity = Entity & Omit<ServerRecord, "etag">;

export function toServerEntity(record: ServerRecord): ServerEntity {
  const { etag: _etag, ...rest } = record;
  const entity: Entity = { ...serverKeys(record.resourceId) };
  // Every set field, not just RECORD_FIELDS: columns other capabilities added survive a read-modify-write.
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) entity[k] = v;
  entity.resourceId = record.resourceId.toLowerCase();
  return entity as ServerEntity;
}

const RECORD_FIELDS = [
  "resourceId",
  "subscriptionId",
  "resourceGroup",
  "serverName",
  "region",
  "tagValue",
  "policyName",
  "vaultId",
  "instanceName",
  "state",
  "lastErrorCode",
  "lastErrorMessage",
  "fix",
  "attempts",
  "lastCause",
  "waitingSince",
  "operationState",
  "leaseOwner",
  "leaseUntil",
  "recheckCause",
  "protectedAt",
  "lastBackupAt",
  "lastBackupStatus",
  "lastJobId",
  "alertedFor",
  "updatedAt",
] as const;

const SYSTEM_COLUMNS = new Set(["partitionKey", "rowKey", "etag", "timestamp", "Timestamp"]);

export function fromServerEntity(entity: TableEntityResult<Record<string, unknown>>): ServerRecord {
  const out = storedFields(entity, RECORD_FIELDS);
  // Columns added later by other capabilities survive a read-modify-write of this module.
  for (const [k, v] of Object.entries(entity)) {
    if (!(k in out) && !SYSTEM_COLUMNS.has(k) && !k.startsWith("odata") && v !== undefined && v !== null)
      out[k] = v;
  }
  out.attempts = typeof out.attempts === "number" ? out.attempts : Number(out.attempts ?? 0);
  out.etag = entity.etag;
  return out as unknown as ServerRecord;
}

export interface ServerStoreDeps {
  /** Defaults to `connection.tableClient("servers")`. */
  tableClient?: TableClient;
}

/** Table-backed {@link ServerStore}. Creates the table on first use. */
export function createServerStore(connection: StorageConnection, deps: ServerStoreDeps = {}): ServerStore {
  const client = deps.tableClient ?? connection.tableClient(SERVERS_TABLE);
  const ensure = ensureTablesOnce(client);

  async function read(
    resourceId: string,
    options: ServerWriteOptions = {},
  ): Promise<ServerRecord | undefined> {
    await ensure();
    const { partitionKey, rowKey } = serverKeys(resourceId);
    const entity = await getOrUndefined(() =>
      client.getEntity<Record<string, unknown>>(partitionKey, rowKey, { abortSignal: options.abortSignal }),
    );
    return entity && fromServerEntity(entity);
  }

  const rowName = (resourceId: string): string => `Server row for ${resourceId}`;

  async function replace(record: ServerRecord, options: ServerWriteOptions): Promise<ServerRecord> {
    await ensure();
    const entity = toServerEntity(record);
    const etag = await replaceEntity(client, entity, {
      ...options,
      ...(record.etag ? { etag: record.etag } : {}),
      row: rowName(record.resourceId),
    });
    return { ...record, resourceId: entity.resourceId, etag };
  }

  async function remove(record: ServerRecord, options: ServerWriteOptions = {}): Promise<void> {
    if (!record.etag) throw new TypeError(`delete of ${record.resourceId} needs the etag that was read.`);
    await ensure();
    const { partitionKey, rowKey } = serverKeys(record.resourceId);
    try {
      await client.deleteEntity(partitionKey, rowKey, {
        etag: record.etag,
        abortSignal: options.abortSignal,
      });
    } catch (e) {
      if (isNotFound(e)) return;
      if (isRestError(e) && e.statusCode === 412) {
        throw new ConflictError(`${rowName(record.resourceId)} changed concurrently (HTTP 412).`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  return {
    get: read,
    async *list(options = {}) {
      await ensure();
      const filters: string[] = [];
      if (options.subscriptionId)
        filters.push(`PartitionKey eq '${options.subscriptionId.toLowerCase().replace(/'/g, "''")}'`);
      if (options.state) filters.push(`state eq '${options.state.replace(/'/g, "''")}'`);
      const iter = client.listEntities<Record<string, unknown>>({
        queryOptions: filters.length ? { filter: filters.join(" and ") } : undefined,
        abortSignal: options.abortSignal,
      });
      for await (const entity of iter) {
        options.abortSignal?.throwIfAborted();
        yield fromServerEntity(entity);
      }
    },
    async create(record, options = {}) {
      await ensure();
      const entity = toServerEntity(record);
      const etag = await createEntity(client, entity, { ...options, row: rowName(record.resourceId) });
      return { ...record, resourceId: entity.resourceId, etag };
    },
    async update(record, options = {}) {
      if (!record.etag) throw new TypeError(`update of ${record.resourceId} needs the etag that was read.`);
      return replace(record, options);
    },
    upsert: (record, options = {}) => replace(record, options),
    delete: remove,
    async deleteDeletedBefore(cutoff, options = {}) {
      await ensure();
      const removed: string[] = [];
      for await (const entity of client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`state eq ${"Deleted"}` },
        abortSignal: options.abortSignal,
      })) {
        const record = fromServerEntity(entity);
        if (!deletedBefore(record, cutoff)) continue;
        try {
          await remove(record, options);
          removed.push(record.resourceId);
        } catch (e) {
          // Written since it was listed (a new event for the server): no longer history to purge.
          if (!(e instanceof ConflictError)) throw e;
        }
      }
      return removed;
    },
  };
}

/** In-memory {@link ServerStore} with the same ETag semantics, for unit tests and fakes. */
export function createInMemoryServerStore(): ServerStore & { rows: Map<string, ServerRecord> } {
  const rows = new Map<string, ServerRecord>();
  let n = 0;
  const nextEtag = (): string => `W/"${++n}"`;
  const key = (id: string): string => id.toLowerCase();
  const put = (record: ServerRecord): ServerRecord => {
    const stored = structuredClone({ ...record, resourceId: key(record.resourceId), etag: nextEtag() });
    rows.set(stored.resourceId, stored);
    return structuredClone(stored);
  };
  return {
    rows,
    async get(resourceId) {
      const row = rows.get(key(resourceId));
      return row && structuredClone(row);
    },
    async *list(options = {}) {
      for (const row of [...rows.values()]) {
        if (options.subscriptionId && row.subscriptionId !== options.subscriptionId.toLowerCase()) continue;
        if (options.state && row.state !== options.state) continue;
        yield structuredClone(row);
      }
    },
    async create(record) {
      if (rows.has(key(record.resourceId)))
        throw new ConflictError(`Server row for ${record.resourceId} already exists.`);
      return put(record);
    },
    async update(record) {
      const current = rows.get(key(record.resourceId));
      if (!record.etag) throw new TypeError(`update of ${record.resourceId} needs the etag that was read.`);
      if (!current || current.etag !== record.etag) {
        throw new ConflictError(`Server row for ${record.resourceId} changed concurrently (HTTP 412).`);
      }
      return put(record);
    },
    async upsert(record) {
      const current = rows.get(key(record.resourceId));
      if (record.etag && (!current || current.etag !== record.etag)) {
        throw new ConflictError(`Server row for ${record.resourceId} changed concurrently (HTTP 412).`);
      }
      return put(record);
    },
    async delete(record) {
      if (!record.etag) throw new TypeError(`delete of ${record.resourceId} needs the etag that was read.`);
      const current = rows.get(key(record.resourceId));
      if (!current) return;
      if (current.etag !== record.etag) {
        throw new ConflictError(`Server row for ${record.resourceId} changed concurrently (HTTP 412).`);
      }
      rows.delete(key(record.resourceId));
    },
    async deleteDeletedBefore(cutoff) {
      const removed: string[] = [];
      for (const [id, row] of [...rows]) {
        if (!deletedBefore(row, cutoff)) continue;
        rows.delete(id);
        removed.push(row.resourceId);
      }
      return removed;
    },
  };
}
