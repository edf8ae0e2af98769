import { randomUUID } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { dayKey, invertedTimestamp } from "./keys.js";
import type { OperationOptions } from "../util/options.js";
import { definedFields, storedFields, type Entity } from "./entities.js";

/** Append-only log of every change this product made in Azure (DESIGN: PartitionKey day, RowKey newest first). */
export const AUDIT_TABLE = "audit";

export interface AuditEntry {
  /** What was done, e.g. `createBackupInstance`, `grantRole`, `createPolicy`, `stateChange`. */
  action: string;
  /** ARM id the action touched (server, vault, instance, role assignment). */
  target: string;
  /** Why: `event:<eventId>`, `sweep:<sweepId>`, `api`. */
  cause: string;
  /** Server the action was for, when there is one. */
  serverId?: string;
  /** Short human-readable detail (state transition, policy name…). Never secrets. */
  detail?: string;
  /** `enforce` or `report`. */
  mode?: string;
  /** Outcome: `succeeded`, `failed`, `skipped`. */
  result?: string;
  /** ISO timestamp; defaults to now. */
  at?: string;
}

export interface AuditRecord extends Required<Pick<AuditEntry, "action" | "target" | "cause" | "at">> {
  id: string;
  serverId?: string;
  detail?: string;
  mode?: string;
  result?: string;
}

export type AuditOptions = OperationOptions;

export interface ListAuditOptions extends AuditOptions {
  /** Day to list (UTC); defaults to today. */
  day?: Date;
}

export interface AuditLog {
  append(entry: AuditEntry, options?: AuditOptions): Promise<AuditRecord>;
  /** Entries of one day, newest first. */
  list(options?: ListAuditOptions): AsyncIterableIterator<AuditRecord>;
}

export interface AuditLogDeps {
  tableClient?: TableClient;
  now?: () => Date;
}

const OPTIONAL_FIELDS = ["serverId", "detail", "mode", "result"] as const;
const FIELDS = ["id", "action", "target", "cause", "at", ...OPTIONAL_FIELDS] as const;

function toRecord(entry: AuditEntry, now: () => Date): AuditRecord {
  return {
    id: randomUUID(),
    action: entry.action,
    target: entry.target,
    cause: entry.cause,
    at: entry.at ?? now().toISOString(),
    ...definedFields(entry, OPTIONAL_FIELDS),
  };
}

/** Day partition, newest first within it; the id keeps entries of the same millisecond apart. */
function toAuditEntity(record: AuditRecord): Entity {
  const at = new Date(record.at);
  return { partitionKey: dayKey(at), rowKey: `${invertedTimestamp(at)}-${record.id}`, ...record };
}

function fromAuditEntity(entity: Record<string, unknown>): AuditRecord {
  return storedFields(entity, FIELDS) as unknown as AuditRecord;
}

/** Table-backed {@link AuditLog}; rows are only ever created, never updated. */
export function createAuditLog(connection: StorageConnection, deps: AuditLogDeps = {}): AuditLog {
  const client = deps.tableClient ?? connection.tableClient(AUDIT_TABLE);
  const now = deps.now ?? (() => new Date());
  const ensure = ensureTablesOnce(client);
  return {
    async append(entry, options = {}) {
      await ensure();
      const record = toRecord(entry, now);
      await client.createEntity(toAuditEntity(record), { abortSignal: options.abortSignal });
      return record;
    },
    async *list(options = {}) {
      await ensure();
      const day = dayKey(options.day ?? now());
      for await (const e of client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: `PartitionKey eq '${day}'` },
        abortSignal: options.abortSignal,
      })) {
        yield fromAuditEntity(e);
      }
    },
  };
}

/** In-memory {@link AuditLog} for unit tests. */
export function createInMemoryAuditLog(
  now: () => Date = () => new Date(),
): AuditLog & { entries: AuditRecord[] } {
  const entries: AuditRecord[] = [];
  return {
    entries,
    async append(entry) {
      const record = toRecord(entry, now);
      entries.push(record);
      return record;
    },
    async *list(options = {}) {
      const day = dayKey(options.day ?? now());
      for (const e of [...entries].reverse()) if (dayKey(new Date(e.at)) === day) yield e;
    },
  };
}
