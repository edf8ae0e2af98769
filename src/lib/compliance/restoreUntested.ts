import type { Config } from "../config/index.js";
import type { ComplianceClass, SweepFailure } from "../domain/compliance.js";
import type { RestoreTestReader, ServerRestoreTestSummary } from "../restoreTests/model.js";
import type { RestoreTestSignal, SweepRow } from "../store/sweeps.js";
import { toFailure } from "../azure/inventory/normalize.js";

/**
 * The sweep's `RestoreUntested` signal: a protected server that has not passed a restore test within
 * PGFLEX_RESTORE_TEST_MAX_AGE_DAYS. It sits beside the class, never changes it: not in the compliance
 * percentage, never remediated by the sweep (the restore-test timer is what tests servers).
 */

const DAY_IN_MS = 86_400_000;

/** Classes whose server has a backup instance in a vault this app manages: what a restore test can restore. */
export const RestoreTestedClasses: ReadonlySet<ComplianceClass> = new Set<ComplianceClass>([
  "Protected",
  "ProtectedStale",
  "WrongPolicy",
  "ProtectedUntagged",
]);

/** Whether restore tests are on: PGFLEX_RESTORE_TESTS (the restore-test timer's schedule) is set. */
export function restoreTestsEnabled(config: Pick<Config, "restoreTests">): boolean {
  return config.restoreTests.trim() !== "";
}

export const RESTORE_TESTS_OFF_NOTE =
  "Restore tests are off (PGFLEX_RESTORE_TESTS is empty), so no server was checked for RestoreUntested. " +
  "Set PGFLEX_RESTORE_TESTS (e.g. weekly) to prove on a schedule that every protected server restores.";

export interface RestoreTestSignalInput {
  enabled: boolean;
  maxAgeDays: number;
  reader: Pick<RestoreTestReader, "summaries">;
  /** Subscriptions of the unit, lower case. */
  inScope: ReadonlySet<string>;
  abortSignal?: AbortSignal;
}

/** Reads the summaries of the unit's servers (one pass); a read failure is returned, never thrown. */
export async function readRestoreTestSummaries(
  input: RestoreTestSignalInput,
): Promise<{ summaries?: Map<string, ServerRestoreTestSummary>; failure?: SweepFailure }> {
  if (!input.enabled) return {};
  const summaries = new Map<string, ServerRestoreTestSummary>();
  try {
    for await (const s of input.reader.summaries({ abortSignal: input.abortSignal })) {
      const id = s.serverId.toLowerCase();
      if (input.inScope.has(id.split("/")[2] ?? "")) summaries.set(id, s);
    }
    return { summaries };
  } catch (e) {
    if (input.abortSignal?.aborted) throw e;
    return { failure: toFailure("sweep", "restoreTests table", e) };
  }
}

/**
 * Flags the rows of protected servers with no passed test since `now - maxAgeDays`, and returns the
 * signal. A server the worker protected less than `maxAgeDays` ago is not owed a test yet. Without
 * `summaries` (restore tests off, or their results unreadable) nothing is flagged and the note says why.
 */
export function flagRestoreUntested(
  rows: SweepRow[],
  options: {
    enabled: boolean;
    maxAgeDays: number;
    summaries: ReadonlyMap<string, ServerRestoreTestSummary> | undefined;
    protectedAt: (serverId: string) => string | undefined;
    now: Date;
  },
): RestoreTestSignal {
  const signal: RestoreTestSignal = { enabled: options.enabled, maxAgeDays: options.maxAgeDays, untested: 0 };
  if (!options.enabled) return { ...signal, note: RESTORE_TESTS_OFF_NOTE };
  if (!options.summaries) {
    return {
      ...signal,
      note: "Restore test results could not be read (see the failures), so no server was checked for RestoreUntested this sweep.",
    };
  }
  const cutoff = options.now.getTime() - options.maxAgeDays * DAY_IN_MS;
  const recent = (iso: string | undefined) => iso !== undefined && Date.parse(iso) >= cutoff;
  for (const row of rows) {
    if (!RestoreTestedClasses.has(row.class)) continue;
    const lastPassedAt = options.summaries.get(row.serverId.toLowerCase())?.lastPassedAt;
    if (recent(lastPassedAt) || recent(options.protectedAt(row.serverId))) continue;
    row.restoreUntested = true;
    if (lastPassedAt) row.lastRestoreTestPassedAt = lastPassedAt;
    signal.untested++;
  }
  return signal;
}

/** The restore-test signals of a sweep's units as one (counts added, the first note kept). */
export function mergeRestoreTestSignals(
  signals: ReadonlyArray<RestoreTestSignal | undefined>,
): RestoreTestSignal | undefined {
  const present = signals.filter((s): s is RestoreTestSignal => s !== undefined);
  const [first] = present;
  if (!first) return undefined;
  const note = present.find((s) => s.note)?.note;
  return {
    enabled: first.enabled,
    maxAgeDays: first.maxAgeDays,
    untested: present.reduce((n, s) => n + s.untested, 0),
    ...(note ? { note } : {}),
  };
}
