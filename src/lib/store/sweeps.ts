import type { TableClient, TableEntity, TableEntityResult, TransactionAction } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTable } from "./connection.js";
import { encodeKey, invertedTimestamp } from "./keys.js";
import { ConflictError, isRestError } from "../errors.js";
import { readKeysetPage } from "./keysetPages.js";
import { mapWithConcurrency } from "../util/concurrency.js";
import type { Classification, ComplianceClass, SweepFailure } from "../domain/compliance.js";
import { getOrUndefined, isNotFound } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";
import {
  decodePageToken,
  encodePageToken,
  InvalidContinuationTokenError,
  type PagePosition,
} from "../util/pageToken.js";

/**
 * Sweep reports (DESIGN): `sweeps` holds one summary per sweep (PartitionKey `sweep`, RowKey inverted
 * start time + id, newest first) plus, for fanned-out sweeps, one progress row per scope (PartitionKey
 * `scopes-{sweepId}`) and its vault-wide inventory in chunks (PartitionKey `vaults-{sweepId}`, see
 * {@link SweepStore.putVaultParts}); `sweepRows` holds one row per server (PartitionKey
 * `{sweepId}_{subscriptionId}`, RowKey encoded server id): one partition per subscription, so a sweep's rows
 * are written by parallel transactions that Tables (and Azurite) serve side by side, where one partition
 * serialises them; a fanned-out unit writes exactly its own partition. Sweeps written before that kept all
 * their rows in one partition named by the sweep id; reads take both ({@link rowsPartitionFilter}).
 */
export const SWEEPS_TABLE = "sweeps";
export const SWEEP_ROWS_TABLE = "sweepRows";
const SUMMARY_PARTITION = "sweep";
/** Table transactions take at most 100 operations, all in one partition. */
export const MAX_BATCH_OPERATIONS = 100;
/** Lists kept inside the summary entity are capped: a property holds at most 64 KiB. */
export const MAX_LISTED_ITEMS = 50;
/**
 * A Table string property holds at most 64 KiB of UTF-16 (32 Ki code units), an entity 1 MiB, a
 * transaction 4 MiB: stored JSON is cut into one 30,000-code-unit chunk per entity, and chunks are
 * written in transactions of at most 1,000,000 code units (≤ 3 MB of UTF-8 on the wire).
 */
export const MAX_CHUNK_CHARS = 30_000;
const MAX_TRANSACTION_CHARS = 1_000_000;

/** Cuts `text` into chunks of at most `size` UTF-16 code units, never between a surrogate pair. */
export function chunkText(text: string, size = MAX_CHUNK_CHARS): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(text.length, i + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    out.push(text.slice(i, end));
    i = end;
  }
  return out.length ? out : [""];
}

/** One row of a sweep report. */
export interface SweepRow extends Classification {
  serverId: string;
  subscriptionId: string;
  location?: string;
  /** Class in the previous complete sweep, when the server was in it. */
  previousClass?: ComplianceClass;
  /** `enqueued` when enforce mode asked the protection worker to act, `wouldEnqueue` in report mode / dry run. */
  remediation?: "enqueued" | "wouldEnqueue" | "failed";
  /**
   * Set on a protected server with no passed restore test within PGFLEX_RESTORE_TEST_MAX_AGE_DAYS: a
   * signal apart from the class (not in the compliance percentage, never remediated by the sweep).
   */
  restoreUntested?: boolean;
  /** When the server last passed a restore test (absent: never). */
  lastRestoreTestPassedAt?: string;
}

/** The sweep's restore-test signal (`RestoreUntested`), reported beside the classes. */
export interface RestoreTestSignal {
  /** False when PGFLEX_RESTORE_TESTS is empty: no server was checked, `note` says so once. */
  enabled: boolean;
  maxAgeDays: number;
  /** Protected servers flagged `restoreUntested`. */
  untested: number;
  /** Said once for the whole sweep: restore tests are off, or their results could not be read. */
  note?: string;
}

export type SweepStatus = "Running" | "Complete" | "Partial" | "Incomplete";

export interface SweepChange {
  serverId: string;
  from?: ComplianceClass;
  to?: ComplianceClass;
}

/** What changed since the previous sweep. Lists are capped; counts are exact. */
export interface SweepDiff {
  previousSweepId?: string;
  becameCompliant: number;
  drifted: number;
  changed: number;
  added: number;
  removed: number;
  becameCompliantServers: SweepChange[];
  driftedServers: SweepChange[];
}

export interface SweepSummary {
  id: string;
  status: SweepStatus;
  mode: "enforce" | "report";
  dryRun: boolean;
  /** `timer`, `api` or `bench`… */
  cause: string;
  inventory: "resourceGraph" | "arm";
  startedAt: string;
  finishedAt?: string;
  /** After this a Running sweep is reported Incomplete (it died or was lost). */
  deadlineAt: string;
  /** Subscriptions in scope. */
  subscriptionIds: string[];
  /** Work units: `all` (one in-process run) or one per subscription. */
  scopeUnits: string[];
  previousSweepId?: string;
  total: number;
  counts: Partial<Record<ComplianceClass, number>>;
  /** Compliant / (compliant + non-compliant), in percent with one decimal; 100 when nothing is owed. */
  compliancePercent: number;
  remediation: { enqueued: number; wouldEnqueue: number; failed: number };
  failureCount: number;
  failures: SweepFailure[];
  diff: SweepDiff;
  /** ARM requests the inventory made (benchmarks and "grows with pages, not servers"). */
  armRequests: number;
  /** The `RestoreUntested` signal; absent when the sweep had no restore test results to read. */
  restoreTests?: RestoreTestSignal;
  etag?: string;
}

/** Progress of one scope unit of a fanned-out sweep. */
export interface ScopeResult {
  unit: string;
  total: number;
  counts: Partial<Record<ComplianceClass, number>>;
  remediation: { enqueued: number; wouldEnqueue: number; failed: number };
  failureCount: number;
  failures: SweepFailure[];
  diff: SweepDiff;
  armRequests: number;
  restoreTests?: RestoreTestSignal;
  finishedAt: string;
}

export type SweepStoreOptions = OperationOptions;

export interface ListRowsOptions extends SweepStoreOptions {
  subscriptionId?: string;
  /** Read only these columns (cheaper previous-sweep reads). */
  select?: Array<keyof SweepRow>;
}

export interface ListRowsPageOptions extends SweepStoreOptions {
  /** Only rows of this class. */
  class?: ComplianceClass;
  /** Page size, at most 1,000 (default 100). */
  top?: number;
  continuationToken?: string;
}

export interface SweepStore {
  createSweep(summary: SweepSummary, options?: SweepStoreOptions): Promise<SweepSummary>;
  /** Replaces the summary guarded by its etag; ConflictError when someone else wrote it first. */
  updateSweep(summary: SweepSummary, options?: SweepStoreOptions): Promise<SweepSummary>;
  getSweep(id: string, options?: SweepStoreOptions): Promise<SweepSummary | undefined>;
  /** Newest first. */
  listSweeps(options?: SweepStoreOptions & { top?: number }): Promise<SweepSummary[]>;
  /** Upserts rows in batches of ≤100 per transaction; returns the number of Table requests made. */
  writeRows(sweepId: string, rows: readonly SweepRow[], options?: SweepStoreOptions): Promise<number>;
  listRows(sweepId: string, options?: ListRowsOptions): AsyncIterableIterator<SweepRow>;
  /** One page of rows (API paging): `continuationToken` from the previous page. */
  listRowsPage(
    sweepId: string,
    options?: ListRowsPageOptions,
  ): Promise<{ rows: SweepRow[]; continuationToken?: string }>;
  putScopeResult(sweepId: string, result: ScopeResult, options?: SweepStoreOptions): Promise<void>;
  listScopeResults(sweepId: string, options?: SweepStoreOptions): Promise<ScopeResult[]>;
  /**
   * Stores named JSON parts of a fanned-out sweep's vault-wide inventory (read once, used by every unit),
   * each cut into chunks (RowKey `{part}-{chunk}`) so no property passes 64 KiB nor entity 1 MiB. Part
   * names: `[a-z0-9-]`. Rewriting a part replaces it.
   */
  putVaultParts(sweepId: string, parts: Record<string, unknown>, options?: SweepStoreOptions): Promise<void>;
  /** One stored part; undefined when it was never stored. */
  getVaultPart(sweepId: string, part: string, options?: SweepStoreOptions): Promise<unknown>;
  /**
   * Removes sweeps that started before `cutoff`: their rows, scope results, then the summary (last, so a
   * run cut short is finished by the next one). The newest sweep is always kept (the next sweep's diff
   * compares with it). Returns the ids removed.
   */
  deleteSweepsStartedBefore(cutoff: Date, options?: SweepStoreOptions): Promise<string[]>;
  /** Table requests made so far (for the "10,000 rows in ≤120 requests" budget). */
  readonly requestCount: number;
}

/**
 * Sweep ids carry their start time to the millisecond (`20261125T030000123Z-1a2b3c4d`), so the summary's
 * RowKey can be rebuilt from the id alone and sweeps started in the same second still sort newest first.
 */
export function newSweepId(startedAt: Date, random: string): string {
  return `${startedAt.toISOString().replace(/[-:.]/g, "")}-${random}`;
}

export function sweepStartFromId(id: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})?Z-[a-z0-9]+$/i.exec(id);
  if (!m) return undefined;
  const written = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7] ?? "000"}Z`;
  const d = new Date(written);
  // `Date` rolls 30 February over to 2 March: an id whose time does not exist names no sweep.
  return Number.isNaN(d.getTime()) || d.toISOString() !== written ? undefined : d;
}

export function sweepRowKey(id: string): string {
  const start = sweepStartFromId(id);
  if (!start) throw new TypeError(`"${id}" is not a sweep id.`);
  return `${invertedTimestamp(start)}_${id}`;
}

const JSON_FIELDS = [
  "counts",
  "remediation",
  "failures",
  "diff",
  "subscriptionIds",
  "scopeUnits",
  "restoreTests",
] as const;

function toSummaryEntity(s: SweepSummary): TableEntity<Record<string, unknown>> {
  const { etag: _etag, ...rest } = s;
  const e: TableEntity<Record<string, unknown>> = {
    partitionKey: SUMMARY_PARTITION,
    rowKey: sweepRowKey(s.id),
  };
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    e[k] =
      k === "failures"
        ? fittedFailures(v as SweepFailure[])
        : (JSON_FIELDS as readonly string[]).includes(k)
          ? JSON.stringify(v)
          : v;
  }
  return e;
}

const MAX_FAILURE_FIELD_CHARS = 500;

/**
 * The listed failures as JSON within `budget` characters of a string property: a target or message
 * longer than 500 characters (a query over 500 subscriptions names them all) is cut, saying how much was
 * cut, and failures that still do not fit are left off the list (the summary's `failureCount` keeps them).
 */
function fittedFailures(failures: readonly SweepFailure[], budget = MAX_CHUNK_CHARS): string {
  const cut = (text: string) =>
    text.length <= MAX_FAILURE_FIELD_CHARS
      ? text
      : `${text.slice(0, MAX_FAILURE_FIELD_CHARS)}… (${text.length - MAX_FAILURE_FIELD_CHARS} more characters)`;
  const list = failures.map((f) => ({ ...f, target: cut(f.target), message: cut(f.message) }));
  let json = JSON.stringify(list);
  while (json.length > budget && list.length > 0) {
    list.pop();
    json = JSON.stringify(list);
  }
  return json;
}

function fromSummaryEntity(e: TableEntityResult<Record<string, unknown>>): SweepSummary {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (["partitionKey", "rowKey", "timestamp", "etag", "odata.etag", "odata.metadata"].includes(k)) continue;
    out[k] = (JSON_FIELDS as readonly string[]).includes(k) && typeof v === "string" ? JSON.parse(v) : v;
  }
  out.etag = e.etag;
  return out as unknown as SweepSummary;
}

const ROW_FIELDS = [
  "serverId",
  "subscriptionId",
  "location",
  "class",
  "reason",
  "fix",
  "instanceId",
  "vaultId",
  "policyName",
  "expectedPolicyName",
  "tagValue",
  "lastBackupAt",
  "previousClass",
  "remediation",
  "restoreUntested",
  "lastRestoreTestPassedAt",
] as const;

/** The partition of a sweep's row: one per subscription (ids and subscription ids hold no `_`). */
function rowsPartitionKey(sweepId: string, subscriptionId: string): string {
  return `${sweepId}_${subscriptionId.toLowerCase()}`;
}

/**
 * Every row partition of a sweep: `{sweepId}_{subscription}` (`~` sorts after any subscription id), and the
 * single partition `{sweepId}` of sweeps written before rows were partitioned by subscription.
 */
function rowsPartitionFilter(sweepId: string, subscriptionId?: string): string {
  if (subscriptionId) {
    const sub = subscriptionId.toLowerCase();
    return `(PartitionKey eq ${quote(rowsPartitionKey(sweepId, sub))} or (PartitionKey eq ${quote(sweepId)} and subscriptionId eq ${quote(sub)}))`;
  }
  return `(PartitionKey eq ${quote(sweepId)} or (PartitionKey gt ${quote(`${sweepId}_`)} and PartitionKey lt ${quote(`${sweepId}_~`)}))`;
}

/** Whether a partition key holds rows of the sweep (either layout). */
function isRowsPartitionOf(sweepId: string, partitionKey: string): boolean {
  return partitionKey === sweepId || partitionKey.startsWith(`${sweepId}_`);
}

function toRowEntity(sweepId: string, row: SweepRow): TableEntity<Record<string, unknown>> {
  const e: TableEntity<Record<string, unknown>> = {
    partitionKey: rowsPartitionKey(sweepId, row.subscriptionId),
    rowKey: encodeKey(row.serverId),
  };
  for (const f of ROW_FIELDS) if (row[f] !== undefined) e[f] = row[f];
  return e;
}

function fromRowEntity(e: Record<string, unknown>): SweepRow {
  const out: Record<string, unknown> = {};
  for (const f of ROW_FIELDS) if (e[f] !== undefined && e[f] !== null) out[f] = e[f];
  return out as unknown as SweepRow;
}

function rowsPageSize(options: ListRowsPageOptions): number {
  return Math.max(1, Math.min(1000, options.top ?? 100));
}

/** The row a token resumes after; it must name a row of this sweep. */
function rowsPagePosition(sweepId: string, token: string | undefined): PagePosition | undefined {
  if (token === undefined) return undefined;
  const position = decodePageToken(token);
  if (!isRowsPartitionOf(sweepId, position.partitionKey)) throw new InvalidContinuationTokenError();
  return position;
}

function quote(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

export interface SweepStoreDeps {
  summaries?: TableClient;
  rows?: TableClient;
  /** Parallel batch transactions when writing rows (default 8), spread over the rows' partitions. */
  writeConcurrency?: number;
}

export function createSweepStore(
  connection: StorageConnection | undefined,
  deps: SweepStoreDeps = {},
): SweepStore {
  const summaries = deps.summaries ?? connection?.tableClient(SWEEPS_TABLE);
  const rowsClient = deps.rows ?? connection?.tableClient(SWEEP_ROWS_TABLE);
  if (!summaries || !rowsClient)
    throw new TypeError("createSweepStore needs a storage connection or both table clients.");
  const concurrency = deps.writeConcurrency ?? 8;
  let requests = 0;
  const ready = new Map<TableClient, Promise<void>>();
  const ensure = (client: TableClient): Promise<void> => {
    let p = ready.get(client);
    if (!p) {
      requests++;
      p = ensureTable(client).catch((e: unknown) => {
        ready.delete(client);
        throw e;
      });
      ready.set(client, p);
    }
    return p;
  };

  async function listEntities(
    client: TableClient,
    filter: string,
    options: SweepStoreOptions & { select?: string[] } = {},
  ): Promise<Array<TableEntityResult<Record<string, unknown>>>> {
    const out: Array<TableEntityResult<Record<string, unknown>>> = [];
    const pages = client
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter, ...(options.select ? { select: options.select } : {}) },
        abortSignal: options.abortSignal,
      })
      .byPage({ maxPageSize: 1000 });
    for await (const page of pages) {
      requests++;
      out.push(...page);
    }
    return out;
  }

  return {
    get requestCount() {
      return requests;
    },
    async createSweep(summary, options = {}) {
      await ensure(summaries);
      requests++;
      const res = await summaries.createEntity(toSummaryEntity(summary), {
        abortSignal: options.abortSignal,
      });
      return { ...summary, etag: res.etag };
    },
    async updateSweep(summary, options = {}) {
      await ensure(summaries);
      requests++;
      try {
        const res = await summaries.updateEntity(toSummaryEntity(summary), "Replace", {
          etag: summary.etag ?? "*",
          abortSignal: options.abortSignal,
        });
        return { ...summary, etag: res.etag };
      } catch (e) {
        if (isRestError(e) && (e.statusCode === 412 || e.statusCode === 404)) {
          throw new ConflictError(`Sweep ${summary.id} changed concurrently (HTTP ${e.statusCode}).`, {
            cause: e,
          });
        }
        throw e;
      }
    },
    async getSweep(id, options = {}) {
      if (!sweepStartFromId(id)) return undefined;
      await ensure(summaries);
      requests++;
      const entity = await getOrUndefined(() =>
        summaries.getEntity<Record<string, unknown>>(SUMMARY_PARTITION, sweepRowKey(id), {
          abortSignal: options.abortSignal,
        }),
      );
      return entity && fromSummaryEntity(entity);
    },
    async listSweeps(options = {}) {
      await ensure(summaries);
      const top = options.top ?? 20;
      const pages = summaries
        .listEntities<Record<string, unknown>>({
          queryOptions: { filter: `PartitionKey eq ${quote(SUMMARY_PARTITION)}` },
          abortSignal: options.abortSignal,
        })
        .byPage({ maxPageSize: top });
      for await (const page of pages) {
        requests++;
        return page.slice(0, top).map(fromSummaryEntity);
      }
      requests++;
      return [];
    },
    async writeRows(sweepId, rows, options = {}) {
      await ensure(rowsClient);
      const before = requests;
      const batches = rowBatches(sweepId, rows);
      // Entities are built per transaction, as it is sent: 100,000 of them at once would double the rows' memory.
      await mapWithConcurrency(batches, concurrency, async (rowsOfBatch) => {
        options.abortSignal?.throwIfAborted();
        const batch = rowsOfBatch.map((r) => toRowEntity(sweepId, r));
        requests++;
        try {
          // A sweep's partition is new, so rows are inserted: Azurite's upserts cost ~2.5× its inserts.
          await rowsClient.submitTransaction(
            batch.map((e): TransactionAction => ["create", e]),
            { abortSignal: options.abortSignal },
          );
        } catch (e) {
          // A redone unit (or a server listed twice) finds rows already there: replace them, as before.
          if (!(isRestError(e) && e.statusCode === 409)) throw e;
          requests++;
          await rowsClient.submitTransaction(
            batch.map((entity): TransactionAction => ["upsert", entity, "Replace"]),
            { abortSignal: options.abortSignal },
          );
        }
      });
      return requests - before;
    },
    async *listRows(sweepId, options = {}) {
      await ensure(rowsClient);
      const filters = [rowsPartitionFilter(sweepId, options.subscriptionId)];
      const pages = rowsClient
        .listEntities<Record<string, unknown>>({
          queryOptions: {
            filter: filters.join(" and "),
            ...(options.select ? { select: options.select as string[] } : {}),
          },
          abortSignal: options.abortSignal,
        })
        .byPage({ maxPageSize: 1000 });
      for await (const page of pages) {
        requests++;
        for (const e of page) yield fromRowEntity(e);
      }
    },
    async listRowsPage(sweepId, options = {}) {
      await ensure(rowsClient);
      const top = rowsPageSize(options);
      const after = rowsPagePosition(sweepId, options.continuationToken);
      const filters = [rowsPartitionFilter(sweepId)];
      if (options.class) filters.push(`class eq ${quote(options.class)}`);
      const page = await readKeysetPage(
        rowsClient,
        {
          filters,
          top,
          abortSignal: options.abortSignal,
          onPage: () => requests++,
          ...(after ? { after } : {}),
        },
        fromRowEntity,
      );
      return page.continuationToken
        ? { rows: page.items, continuationToken: page.continuationToken }
        : { rows: page.items };
    },
    async putScopeResult(sweepId, result, options = {}) {
      await ensure(summaries);
      requests++;
      await summaries.upsertEntity(
        {
          partitionKey: `scopes-${sweepId}`,
          rowKey: result.unit,
          // Its failures get a third of the property; the diff's lists of servers take the rest.
          result: JSON.stringify({
            ...result,
            failures: JSON.parse(fittedFailures(result.failures, MAX_CHUNK_CHARS / 3)) as SweepFailure[],
          }),
        },
        "Replace",
        { abortSignal: options.abortSignal },
      );
    },
    async listScopeResults(sweepId, options = {}) {
      await ensure(summaries);
      const entities = await listEntities(
        summaries,
        `PartitionKey eq ${quote(`scopes-${sweepId}`)}`,
        options,
      );
      return entities.map((e) => JSON.parse(String(e.result)) as ScopeResult);
    },
    async putVaultParts(sweepId, parts, options = {}) {
      await ensure(summaries);
      const partitionKey = `vaults-${sweepId}`;
      const batches: TransactionAction[][] = [[]];
      let chars = 0;
      for (const [part, value] of Object.entries(parts)) {
        const chunks = chunkText(JSON.stringify(value));
        chunks.forEach((data, i) => {
          if (chars + data.length > MAX_TRANSACTION_CHARS || batches.at(-1)!.length >= MAX_BATCH_OPERATIONS) {
            batches.push([]);
            chars = 0;
          }
          chars += data.length;
          // `count` on the first chunk: a reader knows when it has them all.
          const entity = {
            partitionKey,
            rowKey: chunkKey(part, i),
            data,
            ...(i === 0 ? { count: chunks.length } : {}),
          };
          batches.at(-1)!.push(["upsert", entity, "Replace"]);
        });
      }
      for (const batch of batches.filter((b) => b.length)) {
        options.abortSignal?.throwIfAborted();
        requests++;
        await summaries.submitTransaction(batch, { abortSignal: options.abortSignal });
      }
    },
    async getVaultPart(sweepId, part, options = {}) {
      await ensure(summaries);
      const entities = await listEntities(
        summaries,
        `PartitionKey eq ${quote(`vaults-${sweepId}`)} and RowKey ge ${quote(`${part}-`)} and RowKey lt ${quote(`${part}.`)}`,
        options,
      );
      return joinChunks(sweepId, part, entities);
    },
    async deleteSweepsStartedBefore(cutoff, options = {}) {
      await Promise.all([ensure(summaries), ensure(rowsClient)]);
      // RowKey is inverted start + id: older sweeps have larger keys; "~" sorts after any id.
      const old = await listEntities(
        summaries,
        `PartitionKey eq ${quote(SUMMARY_PARTITION)} and RowKey gt ${quote(`${invertedTimestamp(cutoff)}_~`)}`,
        { ...options, select: ["PartitionKey", "RowKey", "id"] },
      );
      const newest = (await this.listSweeps({ ...options, top: 1 }))[0]?.id;
      const removed: string[] = [];
      for (const e of old) {
        const id = String(e.id ?? "");
        if (!id || id === newest) continue;
        await deleteEntities(rowsClient, rowsPartitionFilter(id), options);
        await deletePartition(summaries, `scopes-${id}`, options);
        await deletePartition(summaries, `vaults-${id}`, options);
        requests++;
        await summaries
          .deleteEntity(SUMMARY_PARTITION, String(e.rowKey), { abortSignal: options.abortSignal })
          .catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
        removed.push(id);
      }
      return removed;
    },
  };

  function deletePartition(client: TableClient, partitionKey: string, options: SweepStoreOptions) {
    return deleteEntities(client, `PartitionKey eq ${quote(partitionKey)}`, options);
  }

  /** Deletes every entity the filter matches, in transactions of one partition each. */
  async function deleteEntities(
    client: TableClient,
    filter: string,
    options: SweepStoreOptions,
  ): Promise<void> {
    const keys = await listEntities(client, filter, { ...options, select: ["PartitionKey", "RowKey"] });
    const byPartition = new Map<string, string[]>();
    for (const k of keys) {
      const pk = String(k.partitionKey);
      const list = byPartition.get(pk) ?? [];
      list.push(String(k.rowKey));
      byPartition.set(pk, list);
    }
    for (const [partitionKey, rowKeys] of byPartition) {
      for (let i = 0; i < rowKeys.length; i += MAX_BATCH_OPERATIONS) {
        requests++;
        await client.submitTransaction(
          rowKeys
            .slice(i, i + MAX_BATCH_OPERATIONS)
            .map((rowKey): TransactionAction => ["delete", { partitionKey, rowKey }]),
          { abortSignal: options.abortSignal },
        );
      }
    }
  }
}

/**
 * A sweep's rows as transactions (≤ 100 rows of one partition each), taken round-robin across partitions so
 * the transactions in flight at once write different partitions.
 */
function rowBatches(sweepId: string, rows: readonly SweepRow[]): SweepRow[][] {
  const byPartition = new Map<string, SweepRow[]>();
  for (const r of rows) {
    const partition = rowsPartitionKey(sweepId, r.subscriptionId);
    const list = byPartition.get(partition);
    if (list) list.push(r);
    else byPartition.set(partition, [r]);
  }
  const perPartition = [...byPartition.values()].map((partitionRows) => {
    const out: SweepRow[][] = [];
    for (let i = 0; i < partitionRows.length; i += MAX_BATCH_OPERATIONS)
      out.push(partitionRows.slice(i, i + MAX_BATCH_OPERATIONS));
    return out;
  });
  const rounds = perPartition.reduce((n, p) => Math.max(n, p.length), 0);
  const batches: SweepRow[][] = [];
  for (let round = 0; round < rounds; round++) {
    for (const p of perPartition) {
      const batch = p[round];
      if (batch) batches.push(batch);
    }
  }
  return batches;
}

function chunkKey(part: string, i: number): string {
  if (!/^[a-z0-9-]+$/.test(part)) throw new TypeError(`"${part}" is not a vault part name.`);
  return `${part}-${String(i).padStart(5, "0")}`;
}

/** Rebuilds a part from its chunks (RowKey order); throws when chunks are missing (a torn write). */
function joinChunks(
  sweepId: string,
  part: string,
  entities: ReadonlyArray<Record<string, unknown>>,
): unknown {
  const mine = entities
    .filter((e) => typeof e.rowKey === "string" && /^\d{5}$/.test(e.rowKey.slice(part.length + 1)))
    .sort((a, b) => String(a.rowKey).localeCompare(String(b.rowKey)));
  if (mine.length === 0) return undefined;
  const count = Number(mine[0]?.count);
  if (!(count > 0) || mine.length < count)
    throw new Error(
      `Vault inventory part ${part} of sweep ${sweepId} is incomplete (${mine.length} of ${count} chunks).`,
    );
  return JSON.parse(
    mine
      .slice(0, count)
      .map((e) => String(e.data ?? ""))
      .join(""),
  );
}

/** In-memory {@link SweepStore} for unit tests; same ETag and batching rules. */
export function createInMemorySweepStore(): SweepStore & {
  summaries: Map<string, SweepSummary>;
  rows: Map<string, Map<string, SweepRow>>;
  batches: number[];
} {
  const summaries = new Map<string, SweepSummary>();
  const rows = new Map<string, Map<string, SweepRow>>();
  const scopes = new Map<string, Map<string, ScopeResult>>();
  const vaultParts = new Map<string, Map<string, string>>();
  const batches: number[] = [];
  let n = 0;
  let requests = 0;
  const etag = (): string => `W/"${++n}"`;
  return {
    summaries,
    rows,
    batches,
    get requestCount() {
      return requests;
    },
    async createSweep(summary) {
      requests++;
      if (summaries.has(summary.id)) throw new ConflictError(`Sweep ${summary.id} already exists.`);
      const stored = structuredClone({ ...summary, etag: etag() });
      summaries.set(summary.id, stored);
      return structuredClone(stored);
    },
    async updateSweep(summary) {
      requests++;
      const current = summaries.get(summary.id);
      if (!current || (summary.etag && current.etag !== summary.etag)) {
        throw new ConflictError(`Sweep ${summary.id} changed concurrently (HTTP 412).`);
      }
      const stored = structuredClone({ ...summary, etag: etag() });
      summaries.set(summary.id, stored);
      return structuredClone(stored);
    },
    async getSweep(id) {
      requests++;
      const s = summaries.get(id);
      return s && structuredClone(s);
    },
    async listSweeps(options = {}) {
      requests++;
      return [...summaries.values()]
        .sort((a, b) => sweepRowKey(a.id).localeCompare(sweepRowKey(b.id)))
        .slice(0, options.top ?? 20)
        .map((s) => structuredClone(s));
    },
    async writeRows(sweepId, list) {
      const partition = rows.get(sweepId) ?? new Map<string, SweepRow>();
      rows.set(sweepId, partition);
      let made = 0;
      for (let i = 0; i < list.length; i += MAX_BATCH_OPERATIONS) {
        const batch = list.slice(i, i + MAX_BATCH_OPERATIONS);
        batches.push(batch.length);
        for (const r of batch) partition.set(encodeKey(r.serverId), structuredClone(r));
        made++;
      }
      requests += made;
      return made;
    },
    async *listRows(sweepId, options = {}) {
      // Same request arithmetic as Tables: one request per page of 1,000.
      requests += Math.max(1, Math.ceil((rows.get(sweepId)?.size ?? 0) / 1000));
      for (const r of rows.get(sweepId)?.values() ?? []) {
        if (options.subscriptionId && r.subscriptionId !== options.subscriptionId.toLowerCase()) continue;
        yield structuredClone(r);
      }
    },
    async listRowsPage(sweepId, options = {}) {
      requests++;
      const all = [...(rows.get(sweepId)?.entries() ?? [])]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, r]) => r)
        .filter((r) => !options.class || r.class === options.class);
      const after = rowsPagePosition(sweepId, options.continuationToken);
      const rest = after ? all.filter((r) => encodeKey(r.serverId) > after.rowKey) : all;
      const top = rowsPageSize(options);
      const page = rest.slice(0, top).map((r) => structuredClone(r));
      const last = page.at(-1);
      return rest.length > top && last
        ? {
            rows: page,
            continuationToken: encodePageToken({ partitionKey: sweepId, rowKey: encodeKey(last.serverId) }),
          }
        : { rows: page };
    },
    async putScopeResult(sweepId, result) {
      requests++;
      const m = scopes.get(sweepId) ?? new Map<string, ScopeResult>();
      scopes.set(sweepId, m);
      m.set(result.unit, structuredClone(result));
    },
    async listScopeResults(sweepId) {
      requests++;
      return [...(scopes.get(sweepId)?.values() ?? [])].map((r) => structuredClone(r));
    },
    async putVaultParts(sweepId, parts) {
      const m = vaultParts.get(sweepId) ?? new Map<string, string>();
      vaultParts.set(sweepId, m);
      for (const [part, value] of Object.entries(parts)) {
        chunkKey(part, 0);
        m.set(part, JSON.stringify(value));
      }
      requests++;
    },
    async getVaultPart(sweepId, part) {
      requests++;
      const text = vaultParts.get(sweepId)?.get(part);
      return text === undefined ? undefined : JSON.parse(text);
    },
    async deleteSweepsStartedBefore(cutoff) {
      requests++;
      const newest = (await this.listSweeps({ top: 1 }))[0]?.id;
      const removed: string[] = [];
      for (const id of [...summaries.keys()]) {
        const start = sweepStartFromId(id);
        if (!start || start.getTime() >= cutoff.getTime() || id === newest) continue;
        rows.delete(id);
        scopes.delete(id);
        vaultParts.delete(id);
        summaries.delete(id);
        removed.push(id);
      }
      return removed;
    },
  };
}
