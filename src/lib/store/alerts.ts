import type { TableClient } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { encodeKey } from "./keys.js";
import { ConflictError, isRestError } from "../errors.js";

/** One row per raised alert (PK kind, RK encoded dedup key); creating it is the dedup. */
export const ALERTS_TABLE = "alerts";

export type AlertKind = "JobFailed" | "BackupStale" | "ProtectionFailed";

export interface AlertRecord {
  kind: AlertKind;
  /**
   * Identity of the incident: job id for failures, `server|last success` for staleness, `server|state|code|
   * since` for a protection that needs attention.
   */
  dedupKey: string;
  serverId: string;
  jobId?: string;
  title: string;
  message: string;
  recommendedAction?: string;
  raisedAt: string;
  /** `pending` until every configured target accepted it. */
  state: "pending" | "sent";
  attempts: number;
  lastError?: string;
  etag?: string;
}

export interface AlertStoreOptions {
  abortSignal?: AbortSignal;
}

export interface AlertStore {
  /** Creates the row; returns undefined when an alert with the same kind and key already exists. */
  tryCreate(record: AlertRecord, options?: AlertStoreOptions): Promise<AlertRecord | undefined>;
  listPending(options?: AlertStoreOptions): Promise<AlertRecord[]>;
  /** Replaces the row read (etag required); ConflictError on 412. */
  update(record: AlertRecord, options?: AlertStoreOptions): Promise<AlertRecord>;
}

const FIELDS = [
  "kind",
  "dedupKey",
  "serverId",
  "jobId",
  "title",
  "message",
  "recommendedAction",
  "raisedAt",
  "state",
  "attempts",
  "lastError",
] as const;

function toEntity(r: AlertRecord): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  const e: Record<string, unknown> & { partitionKey: string; rowKey: string } = {
    partitionKey: r.kind,
    rowKey: encodeKey(r.dedupKey),
  };
  for (const f of FIELDS) if (r[f] !== undefined) e[f] = r[f];
  return e;
}

function fromEntity(e: Record<string, unknown>): AlertRecord {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) if (e[f] !== undefined && e[f] !== null) out[f] = e[f];
  out.etag = e.etag;
  return out as unknown as AlertRecord;
}

export function createAlertStore(
  connection: StorageConnection,
  deps: { tableClient?: TableClient } = {},
): AlertStore {
  const client = deps.tableClient ?? connection.tableClient(ALERTS_TABLE);
  const ensure = ensureTablesOnce(client);
  return {
    async tryCreate(record, options = {}) {
      await ensure();
      try {
        const res = await client.createEntity(toEntity(record), { abortSignal: options.abortSignal });
        return { ...record, etag: res.etag };
      } catch (e) {
        if (isRestError(e) && e.statusCode === 409) return undefined;
        throw e;
      }
    },
    async listPending(options = {}) {
      await ensure();
      const out: AlertRecord[] = [];
      for await (const e of client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`state eq ${"pending"}` },
        abortSignal: options.abortSignal,
      })) {
        out.push(fromEntity(e));
      }
      return out;
    },
    async update(record, options = {}) {
      await ensure();
      if (!record.etag) throw new TypeError("Alert update needs the etag that was read.");
      try {
        const res = await client.updateEntity(toEntity(record), "Replace", {
          etag: record.etag,
          abortSignal: options.abortSignal,
        });
        return { ...record, etag: res.etag };
      } catch (e) {
        if (isRestError(e) && (e.statusCode === 412 || e.statusCode === 404)) {
          throw new ConflictError(`Alert ${record.kind}/${record.dedupKey} changed concurrently.`, {
            cause: e,
          });
        }
        throw e;
      }
    },
  };
}
