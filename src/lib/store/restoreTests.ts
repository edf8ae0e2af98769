import { createHash, randomBytes } from "node:crypto";
import type { TableClient, TableEntityResult } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { createEntity, definedFields, replaceEntity, storedFields, type Entity } from "./entities.js";
import { readKeysetPage, type KeysetPage } from "./keysetPages.js";
import { ConflictError } from "../errors.js";
import { isNotFound } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";
import { decodePageToken, InvalidContinuationTokenError } from "../util/pageToken.js";

/**
 * Restore tests, one row each (PK `test`, RK the test id, which sorts newest first), and one row per server
 * (PK `server`, RK a hash of its id): the server's current test (the claim: a new test starts only by writing
 * this row with the ETag read, so two timers or instances cannot both start one) and its summary (the last
 * test, the last pass), updated at each verdict.
 */
export const RESTORE_TESTS_TABLE = "restoreTests";

/* The capability's records (src/lib/restoreTests/model.ts re-exports them: the shared vocabulary). */

/** `Running` until the restore ended and its files were inspected. */
export type RestoreTestOutcome = "Running" | "Passed" | "Failed" | "Suspicious";

/** What one table of a restored database held. */
export interface RestoredTable {
  /** `schema.name`. */
  name: string;
  /** Absent when the database was inspected at the `header` level. */
  rows?: number;
  bytes?: number;
}

/** What one `<guid>_database_<db>.sql` archive held. */
export interface RestoredDatabase {
  database: string;
  blobName: string;
  archiveBytes: number;
  /** `rows` up to PGFLEX_RESTORE_TEST_ROWS_MAX_GB, `header` above it. */
  level: "header" | "rows";
  tables: RestoredTable[];
  /** Sum over the tables (absent at the `header` level). */
  rows?: number;
  bytes?: number;
  pgDumpVersion?: string;
  serverVersion?: string;
  /** Set when the archive could not be read: the inspector's reason with the byte offset. */
  error?: string;
}

/** One finding against the previous passed test (what makes a test `Suspicious`). */
export interface RestoreTestFinding {
  kind: "DatabaseMissing" | "TableMissing" | "RowsDropped";
  database: string;
  table?: string;
  previousRows?: number;
  rows?: number;
  message: string;
}

export interface RestoreTestRecord {
  testId: string;
  serverId: string;
  serverName: string;
  outcome: RestoreTestOutcome;
  /** `schedule` (the timer), or the caller's identity for `POST /api/restoreTests`. */
  requestedBy: string;
  recoveryPointId?: string;
  recoveryPointTime?: string;
  /** Age of the recovery point when the test started, in hours. */
  recoveryPointAgeInHours?: number;
  /** The restore (see `src/lib/store/restores.ts`) and its job. */
  restoreId?: string;
  restoreJobId?: string;
  /** Restore job start to end, seconds. */
  restoreDurationInSeconds?: number;
  /** Inspection of every archive, seconds. */
  inspectionDurationInSeconds?: number;
  /** Restore job start to the inspection's verdict, seconds: what a DBA would wait in a real recovery. */
  timeToRestoreInSeconds?: number;
  databases?: RestoredDatabase[];
  /** `roles.sql`, `schema.sql`, `tablespaces.sql` that were expected and absent. */
  missingFiles?: string[];
  /** The previous passed test this one was compared with. */
  comparedWithTestId?: string;
  findings?: RestoreTestFinding[];
  /** For `Failed`: why, and what to do next. */
  reason?: string;
  fix?: string;
  startedAt: string;
  endedAt?: string;
  /** When the restored blobs are deleted (PGFLEX_RESTORE_TEST_KEEP_HOURS after the end); set to the time once done. */
  cleanupAfter?: string;
  cleanedUpAt?: string;
  updatedAt: string;
  etag?: string;
}

/** The latest test of one server (what the dashboard and the sweep read). */
export interface ServerRestoreTestSummary {
  serverId: string;
  serverName: string;
  last?: Pick<
    RestoreTestRecord,
    "testId" | "outcome" | "startedAt" | "endedAt" | "timeToRestoreInSeconds" | "reason"
  >;
  /** When the server last passed a test (a `Suspicious` test is not a pass). */
  lastPassedAt?: string;
}

export interface RestoreTestListOptions extends OperationOptions {
  serverId?: string;
  top?: number;
  continuationToken?: string;
}

/** Reads the API, CLI, dashboard and sweep need. */
export interface RestoreTestReader {
  get(testId: string, options?: OperationOptions): Promise<RestoreTestRecord | undefined>;
  /** Newest first. */
  listPage(options?: RestoreTestListOptions): Promise<KeysetPage<RestoreTestRecord>>;
  /** One summary per server ever tested. */
  summaries(options?: OperationOptions): AsyncIterable<ServerRestoreTestSummary>;
}

export type NewRestoreTest = Pick<RestoreTestRecord, "serverId" | "serverName" | "requestedBy">;

export interface RestoreTestClaimOptions extends OperationOptions {
  /** Refuse when the server's last test started on the same UTC day (the plan's rule; a person may test again). */
  oncePerDay?: boolean;
  /** A claim whose test row was never written (a crashed starter) is taken over after this long. */
  staleAfterInMs?: number;
}

export type RestoreTestClaim =
  | { created: true; record: RestoreTestRecord }
  | { created: false; reason: "Running" | "TestedToday" | "Contended"; existing?: RestoreTestRecord };

/** A server's row: its summary plus what the plan needs. */
export interface ServerRestoreTestState extends ServerRestoreTestSummary {
  lastStartedAt?: string;
  lastPassedTestId?: string;
  currentTestId?: string;
}

export interface RestoreTestStore extends RestoreTestReader {
  /** Starts a `Running` test of the server unless one runs (or, with `oncePerDay`, one started today). */
  claim(test: NewRestoreTest, now: Date, options?: RestoreTestClaimOptions): Promise<RestoreTestClaim>;
  /** Replaces the row while it has the ETag read (ConflictError otherwise); a verdict updates the server's summary. */
  update(record: RestoreTestRecord, now: Date, options?: OperationOptions): Promise<RestoreTestRecord>;
  /** Tests not yet judged (the advance's work). */
  listRunning(options?: OperationOptions): Promise<RestoreTestRecord[]>;
  /** Judged tests whose restored blobs are due for deletion at `now`. */
  listCleanupDue(now: Date, options?: OperationOptions): Promise<RestoreTestRecord[]>;
  /** One server's row. */
  serverState(serverId: string, options?: OperationOptions): Promise<ServerRestoreTestState | undefined>;
  /** Every server's row (the plan orders servers by their last test). */
  serverStates(options?: OperationOptions): Promise<ServerRestoreTestState[]>;
}

export const DEFAULT_RESTORE_TEST_CLAIM_STALE_AFTER_IN_MS = 15 * 60_000;

const TEST_PK = "test";
const SERVER_PK = "server";
const MAX_TIME = 9_999_999_999_999;
const TEST_ID = /^\d{13}-[0-9a-f]{8}$/;
/** Tables keeps at most 32K characters in a string column: long JSON is split over numbered columns. */
const COLUMN_CHARS = 30_000;
const MAX_COLUMNS = 30;

/** True for a string shaped like a test id this store makes. */
export function isRestoreTestId(value: string): boolean {
  return TEST_ID.test(value);
}

function newTestId(now: Date): string {
  return `${String(MAX_TIME - now.getTime()).padStart(13, "0")}-${randomBytes(4).toString("hex")}`;
}

function serverKey(serverId: string): string {
  return createHash("sha256").update(serverId.toLowerCase()).digest("hex").slice(0, 40);
}

const utcDay = (iso: string | Date): string => new Date(iso).toISOString().slice(0, 10);

const scalarFields = [
  "serverId",
  "serverName",
  "outcome",
  "requestedBy",
  "recoveryPointId",
  "recoveryPointTime",
  "recoveryPointAgeInHours",
  "restoreId",
  "restoreJobId",
  "restoreDurationInSeconds",
  "inspectionDurationInSeconds",
  "timeToRestoreInSeconds",
  "comparedWithTestId",
  "reason",
  "fix",
  "startedAt",
  "endedAt",
  "cleanupAfter",
  "cleanedUpAt",
  "updatedAt",
] as const;
const jsonFields = ["databases", "missingFiles", "findings"] as const;

function splitJson(name: string, value: unknown): Record<string, string> {
  const text = JSON.stringify(value);
  const parts = Math.ceil(text.length / COLUMN_CHARS);
  if (parts > MAX_COLUMNS)
    throw new RangeError(`${name} is ${text.length} characters: more than a Table row holds.`);
  const out: Record<string, string> = {};
  for (let i = 0; i < parts; i++) out[`${name}${i}`] = text.slice(i * COLUMN_CHARS, (i + 1) * COLUMN_CHARS);
  return out;
}

function joinJson(e: Record<string, unknown>, name: string): unknown {
  let text = "";
  for (let i = 0; typeof e[`${name}${i}`] === "string"; i++) text += e[`${name}${i}`] as string;
  return text ? JSON.parse(text) : undefined;
}

function toEntity(r: RestoreTestRecord): Entity {
  const entity: Entity = {
    partitionKey: TEST_PK,
    rowKey: r.testId,
    ...definedFields(r, scalarFields),
    serverId: r.serverId.toLowerCase(),
    cleanupPending: Boolean(r.cleanupAfter && !r.cleanedUpAt),
  };
  for (const field of jsonFields)
    if (r[field] !== undefined) Object.assign(entity, splitJson(field, r[field]));
  return entity;
}

function fromEntity(e: TableEntityResult<Record<string, unknown>>): RestoreTestRecord {
  const record = {
    ...(storedFields(e, scalarFields) as Omit<RestoreTestRecord, "testId">),
    testId: String(e.rowKey),
    ...(e.etag ? { etag: e.etag } : {}),
  } as RestoreTestRecord;
  for (const field of jsonFields) {
    const value = joinJson(e, field);
    if (value !== undefined) (record as unknown as Record<string, unknown>)[field] = value;
  }
  return record;
}

const summaryOf = (r: RestoreTestRecord): NonNullable<ServerRestoreTestSummary["last"]> => ({
  testId: r.testId,
  outcome: r.outcome,
  startedAt: r.startedAt,
  ...(r.endedAt ? { endedAt: r.endedAt } : {}),
  ...(r.timeToRestoreInSeconds !== undefined ? { timeToRestoreInSeconds: r.timeToRestoreInSeconds } : {}),
  ...(r.reason ? { reason: r.reason } : {}),
});

const stateFields = [
  "serverId",
  "serverName",
  "lastPassedAt",
  "lastStartedAt",
  "lastPassedTestId",
  "currentTestId",
] as const;

function stateFromEntity(e: TableEntityResult<Record<string, unknown>>): ServerRestoreTestState & {
  etag?: string;
} {
  const last =
    typeof e["last"] === "string" ? (JSON.parse(e["last"]) as ServerRestoreTestSummary["last"]) : undefined;
  return {
    ...(storedFields(e, stateFields) as unknown as ServerRestoreTestState),
    ...(last ? { last } : {}),
    ...(e.etag ? { etag: e.etag } : {}),
  };
}

function stateToEntity(s: ServerRestoreTestState): Entity {
  return {
    partitionKey: SERVER_PK,
    rowKey: serverKey(s.serverId),
    ...definedFields(s, stateFields),
    ...(s.last ? { last: JSON.stringify(s.last) } : {}),
  };
}

/** The summary after a verdict: the newest test is `last`; a pass moves `lastPassedAt`. */
function withVerdict(state: ServerRestoreTestState, r: RestoreTestRecord): ServerRestoreTestState {
  const newer = !state.last || state.last.startedAt <= r.startedAt;
  const passed =
    r.outcome === "Passed" && (!state.lastPassedAt || state.lastPassedAt <= (r.endedAt ?? r.startedAt));
  return {
    ...state,
    serverName: r.serverName,
    ...(newer ? { last: summaryOf(r) } : {}),
    ...(passed ? { lastPassedAt: r.endedAt ?? r.startedAt, lastPassedTestId: r.testId } : {}),
  };
}

export function createRestoreTestStore(
  connection: StorageConnection,
  deps: { tableClient?: TableClient } = {},
): RestoreTestStore {
  const client = deps.tableClient ?? connection.tableClient(RESTORE_TESTS_TABLE);
  const ensure = ensureTablesOnce(client);

  async function read<T>(
    pk: string,
    rk: string,
    map: (e: TableEntityResult<Record<string, unknown>>) => T,
    options: OperationOptions,
  ) {
    await ensure();
    try {
      return map(
        await client.getEntity<Record<string, unknown>>(pk, rk, { abortSignal: options.abortSignal }),
      );
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  const get = (testId: string, options: OperationOptions = {}) =>
    isRestoreTestId(testId) ? read(TEST_PK, testId, fromEntity, options) : Promise.resolve(undefined);
  const readState = (serverId: string, options: OperationOptions) =>
    read(SERVER_PK, serverKey(serverId), stateFromEntity, options);

  async function writeState(state: ServerRestoreTestState & { etag?: string }, options: OperationOptions) {
    const entity = stateToEntity(state);
    const row = `Restore test server ${state.serverId}`;
    if (state.etag)
      await replaceEntity(client, entity, { row, etag: state.etag, abortSignal: options.abortSignal });
    else await createEntity(client, entity, { row, abortSignal: options.abortSignal });
  }

  async function list(filter: string, options: OperationOptions): Promise<RestoreTestRecord[]> {
    await ensure();
    const out: RestoreTestRecord[] = [];
    for await (const e of client.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
      abortSignal: options.abortSignal,
    }))
      out.push(fromEntity(e));
    return out;
  }

  async function serverStates(options: OperationOptions = {}): Promise<ServerRestoreTestState[]> {
    await ensure();
    const out: ServerRestoreTestState[] = [];
    for await (const e of client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${SERVER_PK}` },
      abortSignal: options.abortSignal,
    })) {
      const { etag: _e, ...state } = stateFromEntity(e);
      out.push(state);
    }
    return out;
  }

  return {
    async claim(test, now, options = {}) {
      const staleAfter = options.staleAfterInMs ?? DEFAULT_RESTORE_TEST_CLAIM_STALE_AFTER_IN_MS;
      const serverId = test.serverId.toLowerCase();
      for (let attempt = 0; attempt < 3; attempt++) {
        const state = (await readState(serverId, options)) ?? { serverId, serverName: test.serverName };
        if (state.currentTestId) {
          const current = await get(state.currentTestId, options);
          if (current?.outcome === "Running") return { created: false, reason: "Running", existing: current };
          const claimedAt = Date.parse(state.lastStartedAt ?? "");
          if (!current && now.getTime() - claimedAt < staleAfter)
            return { created: false, reason: "Running" };
        }
        if (options.oncePerDay && state.lastStartedAt && utcDay(state.lastStartedAt) === utcDay(now)) {
          const existing = state.currentTestId ? await get(state.currentTestId, options) : undefined;
          return { created: false, reason: "TestedToday", ...(existing ? { existing } : {}) };
        }
        const record: RestoreTestRecord = {
          testId: newTestId(now),
          serverId,
          serverName: test.serverName,
          outcome: "Running",
          requestedBy: test.requestedBy,
          startedAt: now.toISOString(),
          updatedAt: now.toISOString(),
        };
        try {
          await writeState(
            {
              ...state,
              serverName: test.serverName,
              currentTestId: record.testId,
              lastStartedAt: record.startedAt,
            },
            options,
          );
        } catch (e) {
          if (e instanceof ConflictError) continue; // another claimer wrote first: decide again on its row
          throw e;
        }
        const etag = await createEntity(client, toEntity(record), {
          row: `Restore test ${record.testId}`,
          abortSignal: options.abortSignal,
        });
        return { created: true, record: { ...record, ...(etag ? { etag } : {}) } };
      }
      return { created: false, reason: "Contended" };
    },

    get,

    async update(record, now, options = {}) {
      await ensure();
      const next = { ...record, updatedAt: now.toISOString() };
      const etag = await replaceEntity(client, toEntity(next), {
        row: `Restore test ${record.testId}`,
        ...(record.etag ? { etag: record.etag } : {}),
        abortSignal: options.abortSignal,
      });
      const saved = { ...next, ...(etag ? { etag } : {}) };
      if (record.outcome !== "Running") {
        for (let attempt = 0; ; attempt++) {
          const state = (await readState(saved.serverId, options)) ?? {
            serverId: saved.serverId,
            serverName: saved.serverName,
          };
          try {
            await writeState(withVerdict(state, saved), options);
            break;
          } catch (e) {
            if (!(e instanceof ConflictError) || attempt >= 4) throw e;
          }
        }
      }
      return saved;
    },

    async listPage(options = {}) {
      const after = options.continuationToken ? decodePageToken(options.continuationToken) : undefined;
      if (after && after.partitionKey !== TEST_PK) throw new InvalidContinuationTokenError();
      await ensure();
      return readKeysetPage(
        client,
        {
          filters: [
            odata`PartitionKey eq ${TEST_PK}`,
            ...(options.serverId ? [odata`serverId eq ${options.serverId.toLowerCase()}`] : []),
          ],
          ...(after ? { after } : {}),
          top: options.top ?? 50,
          ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
        },
        fromEntity,
      );
    },

    async *summaries(options = {}) {
      for (const {
        lastStartedAt: _s,
        lastPassedTestId: _p,
        currentTestId: _c,
        ...summary
      } of await serverStates(options))
        yield summary;
    },

    serverStates,

    async serverState(serverId, options = {}) {
      const state = await readState(serverId, options);
      if (!state) return undefined;
      const { etag: _e, ...rest } = state;
      return rest;
    },

    listRunning: (options = {}) =>
      list(odata`PartitionKey eq ${TEST_PK} and outcome eq ${"Running"}`, options),

    listCleanupDue: (now, options = {}) =>
      list(
        odata`PartitionKey eq ${TEST_PK} and cleanupPending eq ${true} and cleanupAfter le ${now.toISOString()}`,
        options,
      ),
  };
}
