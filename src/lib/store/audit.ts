import { randomUUID } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { dayKey, invertedTimestamp } from "./keys.js";

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

export interface AuditOptions {
  abortSignal?: AbortSignal;
}

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

function toRecord(entry: AuditEntry, now: () => Date): AuditRecord {
  const record: AuditRecord = {
    id: randomUUID(),
    action: entry.action,
    target: entry.target,
    cause: entry.cause,
    at: entry.at ?? now().toISOString(),
  };
  for (const k of ["serverId", "detail", "mode", "result"] as const)
    if (entry[k] !== undefined) record[k] = entry[k];
  return record;
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
      const at = new Date(record.at);
      await client.createEntity(
        { partitionKey: dayKey(at), rowKey: `${invertedTimestamp(at)}-${record.id}`, ...record },
        { abortSignal: options.abortSignal },
      );
      return record;
    },
    async *list(options = {}) {
      await ensure();
      const day = dayKey(options.day ?? now());
      for await (const e of client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: `PartitionKey eq '${day}'` },
        abortSignal: options.abortSignal,
      })) {
        const r: Record<string, unknown> = {};
        for (const k of ["id", "action", "target", "cause", "at", "serverId", "detail", "mode", "result"]) {
          if (e[k] !== undefined && e[k] !== null) r[k] = e[k];
        }
        yield r as unknown as AuditRecord;
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
