import type { TableClient } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { encodeKey } from "./keys.js";
import { isRestError } from "../errors.js";
import type { OperationOptions } from "../util/options.js";
import { definedFields, replaceEntity, storedFields, type Entity } from "./entities.js";

/** One row per raised alert (PK kind, RK encoded dedup key); creating it is the dedup. */
export const ALERTS_TABLE = "alerts";

export type AlertKind = "JobFailed" | "BackupStale" | "ProtectionFailed" | "RestoreTestFailed";

export interface AlertRecord {
  kind: AlertKind;
  /**
   * Identity of the incident: job id for failures, `server|last success` for staleness, `server|state|code|
   * since` for a protection that needs attention, `server|last passed test` for a restore test that failed or
   * was suspicious (so once per server until a test passes).
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

export type AlertStoreOptions = OperationOptions;

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

function toAlertEntity(r: AlertRecord): Entity {
  return { partitionKey: r.kind, rowKey: encodeKey(r.dedupKey), ...definedFields(r, FIELDS) };
}

function fromAlertEntity(e: Record<string, unknown>): AlertRecord {
  return { ...storedFields(e, FIELDS), etag: e.etag } as unknown as AlertRecord;
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
        const res = await client.createEntity(toAlertEntity(record), { abortSignal: options.abortSignal });
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
        out.push(fromAlertEntity(e));
      }
      return out;
    },
    async update(record, options = {}) {
      await ensure();
      if (!record.etag) throw new TypeError("Alert update needs the etag that was read.");
      const etag = await replaceEntity(client, toAlertEntity(record), {
        ...options,
        etag: record.etag,
        row: `Alert ${record.kind}/${record.dedupKey}`,
      });
      return { ...record, etag };
    },
  };
}
