import type { OperationOptions } from "../util/options.js";
import type { RestoreTestOutcome, RestoreTestReader, RestoreTestRecord } from "../store/restoreTests.js";

export type {
  RestoredDatabase,
  RestoredTable,
  RestoreTestFinding,
  RestoreTestListOptions,
  RestoreTestOutcome,
  RestoreTestReader,
  RestoreTestRecord,
  ServerRestoreTestSummary,
} from "../store/restoreTests.js";

/**
 * Restore tests: each protected server's recovery point restored as files on a schedule, every archive it
 * wrote inspected, the result compared with the server's previous passed test. This module is the shared
 * vocabulary of the capability (service, store, API, CLI, dashboard, sweep); it holds types only.
 */

/* The records and the reader live with their table (src/lib/store imports nothing above it). */

export const RESTORE_TEST_OUTCOMES: readonly RestoreTestOutcome[] = [
  "Running",
  "Passed",
  "Failed",
  "Suspicious",
];

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
