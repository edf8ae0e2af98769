import type {
  RestoreTestReader,
  RestoreTestRecord,
  ServerRestoreTestSummary,
} from "../../src/lib/restoreTests/model.js";

export const SUB = "11111111-1111-1111-1111-111111111111";
export const OTHER_SUB = "22222222-2222-2222-2222-222222222222";

export const serverIdOf = (name: string, sub = SUB) =>
  `/subscriptions/${sub}/resourcegroups/rg-db/providers/microsoft.dbforpostgresql/flexibleservers/${name}`;

/** A server's summary whose last test passed `daysAgo` days before `now`. */
export function aSummary(
  name: string,
  init: Partial<ServerRestoreTestSummary> & { sub?: string } = {},
): ServerRestoreTestSummary {
  const { sub, ...rest } = init;
  return { serverId: serverIdOf(name, sub), serverName: name, ...rest };
}

/**
 * An in-memory {@link RestoreTestReader} over fixed summaries and records (records newest first), for the
 * surfaces that read restore tests; `reads` counts `summaries()` passes, `fail` makes them throw.
 */
export function aFakeReader(
  summaries: ServerRestoreTestSummary[],
  records: RestoreTestRecord[] = [],
): RestoreTestReader & { reads: number; fail?: Error } {
  const reader = {
    reads: 0,
    fail: undefined as Error | undefined,
    async get(testId: string) {
      return records.find((r) => r.testId === testId);
    },
    async listPage() {
      return { items: records };
    },
    async *summaries() {
      reader.reads++;
      if (reader.fail) throw reader.fail;
      yield* summaries;
    },
  };
  return reader;
}
