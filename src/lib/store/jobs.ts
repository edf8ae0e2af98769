import type { TableClient, TableEntityResult, TransactionAction } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { dayKey, encodeKey, invertedTimestamp } from "./keys.js";
import { ConflictError, isRestError } from "../errors.js";
import { isGuid } from "../domain/guid.js";
import { FINAL_KNOWN_JOB_STATUSES, isFinalKnownJobStatus } from "../domain/jobStatuses.js";
import { readKeysetPage } from "./keysetPages.js";
import { mapWithConcurrency } from "../util/concurrency.js";
import { getOrUndefined, isNotFound } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";
import { decodePageToken, InvalidContinuationTokenError } from "../util/pageToken.js";
import { definedFields, storedFields, type Entity, type EntityKeys } from "./entities.js";

/** One row per backup job, newest first per server (PK encoded server id, RK inverted start + job id). */
export const JOBS_TABLE = "jobs";
/** job id → jobs row keys, so `GET /api/jobs/{id}` is two point reads (PK: first hex digit, RK: job id). */
export const JOB_INDEX_TABLE = "jobIndex";
/**
 * A copy of every job row keyed for the cross-server listing: PK inverted start day, RK inverted start + job
 * id, so the table's own order is newest first across servers (one query per page, writes spread by day).
 * Written after each `jobs` write with the same data; `jobs` stays the truth (see `listPage`).
 */
export const JOBS_BY_DAY_TABLE = "jobsByDay";

/** Who started the job: this API, a scheduled on-demand backup, the vault's policy schedule, or someone else on demand. */
export type JobOrigin = "api" | "schedule" | "policy" | "external";

export interface JobRecord {
  /** Bare job GUID, lower-cased. */
  jobId: string;
  /** Full ARM id of the job as the service returns it. */
  jobResourceId?: string;
  /** Lower-cased server resource id (the job's data source). */
  serverId: string;
  serverName: string;
  /** Lower-cased Backup vault id. */
  vaultId: string;
  instanceName?: string;
  policyName?: string;
  operation?: string;
  origin: JobOrigin;
  status: string;
  /** ISO timestamps; `startTime` fixes the row key and never changes. */
  startTime: string;
  endTime?: string;
  durationInMs?: number;
  bytesTransferred?: number;
  errorCode?: string;
  errorMessage?: string;
  recommendedAction?: string;
  retentionTag?: string;
  reason?: string;
  /** Principal id (oid) that asked for the backup; never a token. */
  requestedBy?: string;
  /** Scheduled-backup selector name that started the job. */
  schedule?: string;
  updatedAt: string;
  etag?: string;
}

export type JobKeys = EntityKeys;

export function jobKeys(record: Pick<JobRecord, "serverId" | "startTime" | "jobId">): JobKeys {
  return {
    partitionKey: encodeKey(record.serverId),
    rowKey: `${invertedTimestamp(new Date(record.startTime))}_${record.jobId.toLowerCase()}`,
  };
}

/** Inverted `yyyymmdd` (UTC): ascending order is newest day first. */
export function invertedDayKey(date: Date): string {
  return String(99_999_999 - Number(dayKey(date))).padStart(8, "0");
}

/** Keys of a job's copy in {@link JOBS_BY_DAY_TABLE}. */
export function jobDayKeys(record: Pick<JobRecord, "startTime" | "jobId">): JobKeys {
  const start = new Date(record.startTime);
  return {
    partitionKey: invertedDayKey(start),
    rowKey: `${invertedTimestamp(start)}_${record.jobId.toLowerCase()}`,
  };
}

export type JobStoreOptions = OperationOptions;

export interface ListJobsOptions extends JobStoreOptions {
  serverId?: string;
  status?: string;
  since?: Date;
  until?: Date;
}

export interface ListJobsPageOptions extends ListJobsOptions {
  /** Default 50, at most 1000. */
  maxPageSize?: number;
  continuationToken?: string;
}

export interface WriteJobsOptions extends JobStoreOptions {
  /** Transactions in flight at once; default 16. */
  concurrency?: number;
}

export interface WriteJobsResult {
  saved: JobRecord[];
  /** Rows of transactions that failed with 409/412/404: re-read and merge them. */
  conflicted: JobRecord[];
}

export interface JobPage {
  items: JobRecord[];
  continuationToken?: string;
}

export interface JobStore {
  get(keys: JobKeys, options?: JobStoreOptions): Promise<JobRecord | undefined>;
  getById(jobId: string, options?: JobStoreOptions): Promise<JobRecord | undefined>;
  /**
   * Writes rows: a record without etag is created (ConflictError if it exists), one with an etag
   * replaces the row read (ConflictError on 412). Rows sharing a partition go in one transaction
   * (≤ 100 per batch); a ConflictError names the partition that failed so callers can re-read it.
   */
  saveAll(records: readonly JobRecord[], options?: JobStoreOptions): Promise<JobRecord[]>;
  /**
   * Like {@link saveAll}, but reports rows whose transaction lost a race instead of throwing, so one
   * contended partition does not hold up the others. A record with `etag: "*"` is merged unconditionally:
   * only for final job data, which every writer agrees on.
   */
  writeAll(records: readonly JobRecord[], options?: WriteJobsOptions): Promise<WriteJobsResult>;
  listPage(options?: ListJobsPageOptions): Promise<JobPage>;
  list(options?: ListJobsOptions): AsyncIterableIterator<JobRecord>;
  /** Newest job of a server, optionally only successful ones. */
  latest(
    serverId: string,
    options?: JobStoreOptions & { successfulOnly?: boolean },
  ): Promise<JobRecord | undefined>;
  /** Deletes rows that started before `cutoff`, in per-partition batches; returns how many. */
  deleteStartedBefore(cutoff: Date, options?: JobStoreOptions): Promise<number>;
  /**
   * Copies every row to the cross-server day table (rows written before it existed); returns how many.
   * Safe beside live writers: a copy that loses a race is unfinished and re-read when listed.
   */
  copyAllToDayTable(options?: JobStoreOptions): Promise<number>;
}

const FIELDS = [
  "jobId",
  "jobResourceId",
  "serverId",
  "serverName",
  "vaultId",
  "instanceName",
  "policyName",
  "operation",
  "origin",
  "status",
  "startTime",
  "endTime",
  "durationInMs",
  "bytesTransferred",
  "errorCode",
  "errorMessage",
  "recommendedAction",
  "retentionTag",
  "reason",
  "requestedBy",
  "schedule",
  "updatedAt",
] as const;

export function toJobEntity(record: JobRecord): Entity {
  const entity: Entity = { ...jobKeys(record), ...definedFields(record, FIELDS) };
  entity.jobId = record.jobId.toLowerCase();
  entity.serverId = record.serverId.toLowerCase();
  entity.vaultId = record.vaultId.toLowerCase();
  // Typed copy of the start for range filters (string comparison of ISO text with varying precision is unsafe).
  entity.startedAt = new Date(record.startTime);
  if (record.bytesTransferred !== undefined)
    entity.bytesTransferred = { value: String(record.bytesTransferred), type: "Int64" };
  return entity;
}

export function fromJobEntity(entity: TableEntityResult<Record<string, unknown>>): JobRecord {
  const out = storedFields(entity, FIELDS);
  const bytes = entity.bytesTransferred as unknown;
  if (bytes !== undefined && bytes !== null) {
    out.bytesTransferred =
      typeof bytes === "object" && "value" in (bytes as object)
        ? Number((bytes as { value: string }).value)
        : Number(bytes);
  }
  out.etag = entity.etag;
  return out as unknown as JobRecord;
}

/** A job's copy in {@link JOBS_BY_DAY_TABLE}: the same columns under the day keys. */
function toJobDayEntity(record: JobRecord): Entity {
  return { ...toJobEntity(record), ...jobDayKeys(record) };
}

/** 16 index partitions (first hex digit): few enough that a cycle's new jobs share batches. */
function indexKeys(jobId: string): JobKeys {
  const id = jobId.toLowerCase();
  return { partitionKey: id.slice(0, 1), rowKey: id };
}

/** The {@link JOB_INDEX_TABLE} row pointing at a job's row. */
function toJobIndexEntity(record: JobRecord): Entity {
  const keys = jobKeys(record);
  return {
    ...indexKeys(record.jobId),
    jobPartitionKey: keys.partitionKey,
    jobRowKey: keys.rowKey,
    startedAt: new Date(record.startTime),
  };
}

/** Table-backed {@link JobStore}; creates its tables on first use. */
export function createJobStore(
  connection: StorageConnection,
  deps: { tableClient?: TableClient; indexClient?: TableClient; byDayClient?: TableClient } = {},
): JobStore {
  const client = deps.tableClient ?? connection.tableClient(JOBS_TABLE);
  const index = deps.indexClient ?? connection.tableClient(JOB_INDEX_TABLE);
  const byDay = deps.byDayClient ?? connection.tableClient(JOBS_BY_DAY_TABLE);
  const ensure = ensureTablesOnce(client, index, byDay);

  async function get(keys: JobKeys, options: JobStoreOptions = {}): Promise<JobRecord | undefined> {
    await ensure();
    const entity = await getOrUndefined(() =>
      client.getEntity(keys.partitionKey, keys.rowKey, { abortSignal: options.abortSignal }),
    );
    return entity && fromJobEntity(entity);
  }

  function filterOf(options: ListJobsOptions): string | undefined {
    const parts: string[] = [];
    if (options.serverId) parts.push(odata`PartitionKey eq ${encodeKey(options.serverId)}`);
    if (options.status) parts.push(odata`status eq ${options.status}`);
    if (options.since) parts.push(odata`startedAt ge ${options.since}`);
    if (options.until) parts.push(odata`startedAt lt ${options.until}`);
    return parts.length ? parts.join(" and ") : undefined;
  }

  async function* list(options: ListJobsOptions = {}): AsyncIterableIterator<JobRecord> {
    await ensure();
    const filter = filterOf(options);
    for await (const entity of client.listEntities<Record<string, unknown>>({
      queryOptions: filter ? { filter } : undefined,
      abortSignal: options.abortSignal,
    })) {
      yield fromJobEntity(entity);
    }
  }

  async function writeAll(
    records: readonly JobRecord[],
    options: WriteJobsOptions = {},
  ): Promise<WriteJobsResult> {
    await ensure();
    // A new row's id pointer is written before the row (idempotent: the same pointer for the same job), so a
    // host that dies between the two leaves a pointer to nothing yet, read as absent and rewritten by whoever
    // creates the row, instead of a row that no id lookup ever finds. One batch per index partition.
    const byIndexPartition = new Map<string, TransactionAction[]>();
    for (const record of records) {
      if (record.etag) continue;
      const entity = toJobIndexEntity(record);
      const action: TransactionAction = ["upsert", entity, "Replace"];
      byIndexPartition.set(entity.partitionKey, [
        ...(byIndexPartition.get(entity.partitionKey) ?? []),
        action,
      ]);
    }
    const indexChunks: TransactionAction[][] = [];
    for (const actions of byIndexPartition.values())
      for (let i = 0; i < actions.length; i += 100) indexChunks.push(actions.slice(i, i + 100));
    await mapWithConcurrency(indexChunks, options.concurrency ?? 16, async (actions) => {
      await index.submitTransaction(actions, { abortSignal: options.abortSignal });
    });
    const byPartition = new Map<string, JobRecord[]>();
    for (const record of records) {
      const pk = jobKeys(record).partitionKey;
      byPartition.set(pk, [...(byPartition.get(pk) ?? []), record]);
    }
    const chunks: JobRecord[][] = [];
    for (const rows of byPartition.values())
      for (let i = 0; i < rows.length; i += 100) chunks.push(rows.slice(i, i + 100));
    const saved: JobRecord[] = [];
    const conflicted: JobRecord[] = [];
    await mapWithConcurrency(chunks, options.concurrency ?? 16, async (chunk) => {
      const actions: TransactionAction[] = chunk.map((record) =>
        record.etag === "*"
          ? ["update", toJobEntity(record), "Merge"]
          : record.etag
            ? ["update", toJobEntity(record), "Replace", { etag: record.etag }]
            : ["create", toJobEntity(record)],
      );
      try {
        const response = await client.submitTransaction(actions, { abortSignal: options.abortSignal });
        chunk.forEach((r, n) => saved.push({ ...r, etag: response.subResponses[n]?.etag ?? r.etag }));
      } catch (e) {
        const status = isRestError(e) ? e.statusCode : undefined;
        if (status === 409 || status === 412 || status === 404) conflicted.push(...chunk);
        else throw e;
      }
    });
    // The cross-server copy follows what was saved, in the same mode (blind final data merges, the rest
    // replaces). Thrown failures leave the caller's follow rows unchanged, so the next cycle writes again.
    const blind = new Set(records.filter((r) => r.etag === "*").map((r) => r.jobId));
    const byDayPartition = new Map<string, TransactionAction[]>();
    for (const record of saved) {
      const entity = toJobDayEntity(record);
      const action: TransactionAction = ["upsert", entity, blind.has(record.jobId) ? "Merge" : "Replace"];
      byDayPartition.set(entity.partitionKey, [...(byDayPartition.get(entity.partitionKey) ?? []), action]);
    }
    const dayChunks: TransactionAction[][] = [];
    for (const actions of byDayPartition.values())
      for (let i = 0; i < actions.length; i += 100) dayChunks.push(actions.slice(i, i + 100));
    await mapWithConcurrency(dayChunks, options.concurrency ?? 16, async (actions) => {
      await byDay.submitTransaction(actions, { abortSignal: options.abortSignal });
    });
    return { saved, conflicted };
  }

  /**
   * Newest first across servers from the day copy, one query per page. The copy can trail `jobs` by a
   * racing write, and only while a job is unfinished (a final status never changes, `Unknown` apart), so
   * those rows are re-read from `jobs`; a status filter also fetches them to judge by their true status.
   */
  async function listAcrossServers(options: ListJobsPageOptions): Promise<JobPage> {
    const top = Math.max(1, Math.min(options.maxPageSize ?? 50, 1000));
    const after = options.continuationToken ? decodeDayToken(options.continuationToken) : undefined;
    const parts: string[] = [];
    if (options.until) parts.push(odata`PartitionKey ge ${invertedDayKey(options.until)}`);
    if (options.since) parts.push(odata`PartitionKey le ${invertedDayKey(options.since)}`);
    if (options.since) parts.push(odata`startedAt ge ${options.since}`);
    if (options.until) parts.push(odata`startedAt lt ${options.until}`);
    if (options.status) {
      const unfinished = FINAL_KNOWN_JOB_STATUSES.map((status) => odata`status ne ${status}`).join(" and ");
      parts.push(`(${odata`status eq ${options.status}`} or (${unfinished}))`);
    }
    const page = await readKeysetPage(
      byDay,
      { filters: parts, top, abortSignal: options.abortSignal, ...(after ? { after } : {}) },
      fromJobEntity,
    );
    const items: Array<JobRecord | undefined> = [...page.items];
    await mapWithConcurrency(
      page.items
        .map((record, position) => ({ record, position }))
        .filter(({ record }) => !isFinalKnownJobStatus(record.status)),
      16,
      async ({ record, position }) => {
        items[position] = await get(jobKeys(record), options);
      },
    );
    const kept = items.filter(
      (r): r is JobRecord => r !== undefined && (!options.status || r.status === options.status),
    );
    return page.continuationToken
      ? { items: kept, continuationToken: page.continuationToken }
      : { items: kept };
  }

  /**
   * One server's jobs newest first (its partition in key order), one query per page, resumed after the
   * token's keys: the token is ours, so nothing a caller sends reaches the SDK as a token.
   */
  async function listOfServer(options: ListJobsPageOptions & { serverId: string }): Promise<JobPage> {
    const top = Math.max(1, Math.min(options.maxPageSize ?? 50, 1000));
    const partitionKey = encodeKey(options.serverId);
    const after = options.continuationToken ? decodePageToken(options.continuationToken) : undefined;
    if (after && (after.partitionKey !== partitionKey || !JOB_ROW_KEY.test(after.rowKey))) {
      throw new InvalidContinuationTokenError();
    }
    const filter = filterOf(options);
    return readKeysetPage(
      client,
      {
        filters: filter ? [filter] : [],
        top,
        abortSignal: options.abortSignal,
        ...(after ? { after } : {}),
      },
      fromJobEntity,
    );
  }

  return {
    get,
    async getById(jobId, options = {}) {
      const id = jobId.toLowerCase();
      if (!isGuid(id)) return undefined;
      await ensure();
      const pointer = await getOrUndefined(() =>
        index.getEntity<{ jobPartitionKey: string; jobRowKey: string }>(indexKeys(id).partitionKey, id, {
          abortSignal: options.abortSignal,
        }),
      );
      return pointer && get({ partitionKey: pointer.jobPartitionKey, rowKey: pointer.jobRowKey }, options);
    },
    async saveAll(records, options = {}) {
      const { saved, conflicted } = await writeAll(records, options);
      if (conflicted.length) {
        throw new ConflictError(
          `Job rows of ${conflicted.map((r) => r.jobId).join(", ")} changed concurrently; re-read them.`,
        );
      }
      return saved;
    },
    writeAll,
    async listPage(options = {}) {
      await ensure();
      if (!options.serverId) return listAcrossServers(options);
      return listOfServer({ ...options, serverId: options.serverId });
    },
    list,
    async latest(serverId, options = {}) {
      await ensure();
      const filter = options.successfulOnly
        ? odata`PartitionKey eq ${encodeKey(serverId)} and (status eq ${"Completed"} or status eq ${"CompletedWithWarnings"})`
        : odata`PartitionKey eq ${encodeKey(serverId)}`;
      // Row keys sort newest first, so the first match of the partition is the latest.
      for await (const page of client
        .listEntities<Record<string, unknown>>({ queryOptions: { filter }, abortSignal: options.abortSignal })
        .byPage({ maxPageSize: 1 })) {
        const first = page[0];
        if (first) return fromJobEntity(first);
      }
      return undefined;
    },
    async deleteStartedBefore(cutoff, options = {}) {
      await ensure();
      const byPartition = new Map<string, Array<{ rowKey: string; jobId: string }>>();
      for await (const entity of client.listEntities<{ jobId?: string }>({
        queryOptions: { filter: odata`startedAt lt ${cutoff}`, select: ["PartitionKey", "RowKey", "jobId"] },
        abortSignal: options.abortSignal,
      })) {
        if (!entity.partitionKey || !entity.rowKey) continue;
        byPartition.set(entity.partitionKey, [
          ...(byPartition.get(entity.partitionKey) ?? []),
          { rowKey: entity.rowKey, jobId: entity.jobId ?? "" },
        ]);
      }
      let removed = 0;
      const indexDeletes = new Map<string, TransactionAction[]>();
      for (const [pk, rows] of byPartition) {
        for (let i = 0; i < rows.length; i += 100) {
          const chunk = rows.slice(i, i + 100);
          await client.submitTransaction(
            chunk.map((r): TransactionAction => ["delete", { partitionKey: pk, rowKey: r.rowKey }]),
            { abortSignal: options.abortSignal },
          );
          removed += chunk.length;
        }
        for (const row of rows) {
          if (!isGuid(row.jobId)) continue;
          const ik = indexKeys(row.jobId);
          indexDeletes.set(ik.partitionKey, [
            ...(indexDeletes.get(ik.partitionKey) ?? []),
            ["delete", { ...ik }] as TransactionAction,
          ]);
        }
      }
      for (const actions of indexDeletes.values()) {
        for (let i = 0; i < actions.length; i += 100) {
          try {
            await index.submitTransaction(actions.slice(i, i + 100), { abortSignal: options.abortSignal });
          } catch (error) {
            // An index row already gone fails the batch; fall back to single deletes that tolerate 404.
            if (!isNotFound(error)) throw error;
            for (const [, entity] of actions.slice(i, i + 100) as Array<[string, JobKeys]>) {
              await index.deleteEntity(entity.partitionKey, entity.rowKey).catch((err: unknown) => {
                if (!isNotFound(err)) throw err;
              });
            }
          }
        }
      }
      await deleteCopiesBefore(cutoff, options);
      return removed;
    },
    async copyAllToDayTable(options = {}) {
      await ensure();
      const byPartition = new Map<string, TransactionAction[]>();
      let copied = 0;
      const flush = async (pk: string, actions: TransactionAction[]) => {
        await byDay.submitTransaction(actions, { abortSignal: options.abortSignal });
        copied += actions.length;
        byPartition.delete(pk);
      };
      for await (const stored of client.listEntities<Record<string, unknown>>({
        abortSignal: options.abortSignal,
      })) {
        const entity = toJobDayEntity(fromJobEntity(stored));
        const actions = [
          ...(byPartition.get(entity.partitionKey) ?? []),
          ["upsert", entity, "Replace"] as TransactionAction,
        ];
        byPartition.set(entity.partitionKey, actions);
        if (actions.length === 100) await flush(entity.partitionKey, actions);
      }
      for (const [pk, actions] of [...byPartition]) await flush(pk, actions);
      return copied;
    },
  };

  /** Whole older days in one query each, plus the cutoff day's older rows (RowKey: inverted start). */
  async function deleteCopiesBefore(cutoff: Date, options: JobStoreOptions): Promise<void> {
    const day = invertedDayKey(cutoff);
    // Same day: a larger inverted start is older; "~" sorts after any job id, so the cutoff itself stays.
    const olderThanCutoff = `${invertedTimestamp(cutoff)}_~`;
    const filter = odata`PartitionKey gt ${day} or (PartitionKey eq ${day} and RowKey gt ${olderThanCutoff})`;
    const byPartition = new Map<string, TransactionAction[]>();
    for await (const e of byDay.listEntities({
      queryOptions: { filter, select: ["PartitionKey", "RowKey"] },
      abortSignal: options.abortSignal,
    })) {
      if (!e.partitionKey || !e.rowKey) continue;
      const action: TransactionAction = ["delete", { partitionKey: e.partitionKey, rowKey: e.rowKey }];
      byPartition.set(e.partitionKey, [...(byPartition.get(e.partitionKey) ?? []), action]);
    }
    for (const actions of byPartition.values()) {
      for (let i = 0; i < actions.length; i += 100) {
        await byDay.submitTransaction(actions.slice(i, i + 100), { abortSignal: options.abortSignal });
      }
    }
  }
}

/** Row key of a `jobs` or `jobsByDay` row: inverted start, then the job id. */
const JOB_ROW_KEY = /^\d{16}_[0-9a-z-]{1,64}$/;

/** A cross-server token names a `jobsByDay` row (inverted day, then a job row key); anything else is refused. */
function decodeDayToken(token: string): JobKeys {
  const position = decodePageToken(token);
  if (!/^\d{8}$/.test(position.partitionKey) || !JOB_ROW_KEY.test(position.rowKey)) {
    throw new InvalidContinuationTokenError();
  }
  return position;
}
