import type { OperationOptions } from "../util/options.js";
import type { KeysetPage } from "../store/keysetPages.js";

/**
 * Restore tests: each protected server's recovery point restored as files on a schedule, every archive it
 * wrote inspected, the result compared with the server's previous passed test. This module is the shared
 * vocabulary of the capability (service, store, API, CLI, dashboard, sweep); it holds types only.
 */

/** `Running` until the restore ended and its files were inspected. */
export type RestoreTestOutcome = "Running" | "Passed" | "Failed" | "Suspicious";

export const RESTORE_TEST_OUTCOMES: readonly RestoreTestOutcome[] = [
  "Running",
  "Passed",
  "Failed",
  "Suspicious",
];

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

export interface RunRestoreTestsRequest {
  /** One server (its resource id); all protected servers in scope when absent. */
  serverId?: string;
  requestedBy: string;
}

export interface RestoreTestRun {
  /** Tests started by this call. */
  started: RestoreTestRecord[];
  /** Servers skipped and why (tested today already, a test running, no recovery point, over the concurrency cap). */
  skipped: Array<{ serverId: string; reason: string }>;
}

export interface RestoreTestService extends RestoreTestReader {
  /** Starts the tests the plan calls for now (or the one server's). */
  run(request: RunRestoreTestsRequest, options?: OperationOptions): Promise<RestoreTestRun>;
  /**
   * Moves every running test on: restore ended → inspect → verdict → alert; cleans up restored blobs that
   * are due. The number of tests that reached a verdict.
   */
  advance(options?: OperationOptions): Promise<number>;
}
