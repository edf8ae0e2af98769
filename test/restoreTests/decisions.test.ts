import { describe, expect, it } from "vitest";
import { planTests } from "../../src/lib/restoreTests/plan.js";
import { compare } from "../../src/lib/restoreTests/verdict.js";
import type { RestoredDatabase } from "../../src/lib/restoreTests/model.js";

const db = (database: string, tables: Record<string, number>): RestoredDatabase => ({
  database,
  blobName: `g_database_${database}.sql`,
  archiveBytes: 100,
  level: "rows",
  tables: Object.entries(tables).map(([name, rows]) => ({ name, rows })),
});

describe("the comparison with the previous passed test", () => {
  it("flags a drop of more than the percentage, not one of exactly it", () => {
    const before = [db("orders", { "public.a": 100, "public.b": 100 })];
    const after = [db("orders", { "public.a": 50, "public.b": 49 })];
    expect(compare(before, after, 50)).toEqual([
      expect.objectContaining({ kind: "RowsDropped", table: "public.b", previousRows: 100, rows: 49 }),
    ]);
  });

  it("flags a missing table and a missing database, and ignores new ones and growth", () => {
    const before = [db("orders", { "public.a": 1, "public.gone": 5 }), db("billing", { "public.i": 2 })];
    const after = [db("orders", { "public.a": 10, "public.new": 1 }), db("extra", {})];
    expect(compare(before, after, 50).map((f) => [f.kind, f.database, f.table])).toEqual([
      ["TableMissing", "orders", "public.gone"],
      ["DatabaseMissing", "billing", undefined],
    ]);
  });
});

describe("the plan", () => {
  const now = new Date("2026-11-20T10:00:00Z");
  const servers = ["a", "b", "c"].map((n) => ({ serverId: `/s/${n}`, serverName: n }));

  it("tests a server again a day before its cycle ends, oldest first, and skips the rest with when they are due", () => {
    const plan = planTests({
      servers,
      states: [
        { serverId: "/s/a", lastStartedAt: "2026-11-14T09:00:00Z" },
        { serverId: "/s/b", lastStartedAt: "2026-11-13T09:00:00Z" },
        { serverId: "/s/c", lastStartedAt: "2026-11-15T09:00:00Z" },
      ],
      running: 0,
      concurrency: 5,
      everyDays: 7,
      now,
    });
    expect(plan.start.map((s) => s.serverName)).toEqual(["b", "a"]);
    expect(plan.skipped).toEqual([
      {
        serverId: "/s/c",
        reason: "Tested 2026-11-15T09:00:00Z; next due 2026-11-21T09:00:00.000Z (every 7 days).",
      },
    ]);
  });

  it("lets a person test one server again the same day, but not beside its running test or over the cap", () => {
    const one = [servers[0] as (typeof servers)[number]];
    const today = [{ serverId: "/s/a", lastStartedAt: "2026-11-20T08:00:00Z" }];
    expect(
      planTests({ servers: one, states: today, running: 0, concurrency: 1, everyDays: 7, now, forced: true })
        .start,
    ).toEqual(one);
    expect(
      planTests({ servers: one, states: today, running: 0, concurrency: 1, everyDays: 7, now }).start,
    ).toEqual([]);
    expect(
      planTests({
        servers: one,
        states: [{ ...today[0], serverId: "/s/a", running: true }],
        running: 1,
        concurrency: 2,
        everyDays: 7,
        now,
        forced: true,
      }).skipped,
    ).toEqual([{ serverId: "/s/a", reason: "A restore test of this server is running." }]);
    expect(
      planTests({ servers: one, states: [], running: 1, concurrency: 1, everyDays: 7, now, forced: true })
        .start,
    ).toEqual([]);
  });
});
