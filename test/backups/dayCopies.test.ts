import { describe, expect, it } from "vitest";
import { createDayCopyMigration } from "../../src/lib/backups/dayCopies.js";
import type { Logger } from "../../src/lib/logger.js";
import { JOBS_TABLE, toJobEntity, type JobRecord } from "../../src/lib/store/jobs.js";
import { useAzurite } from "../support/azurite.js";
import { aStorage, serverId } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();

function aRow(n: number, server: string): JobRecord {
  return {
    jobId: `00000000-0000-0000-0000-${String(n).padStart(12, "0")}`,
    serverId: serverId(server),
    serverName: server,
    vaultId: "v",
    origin: "policy",
    status: "Completed",
    startTime: new Date(Date.UTC(2026, 10, n, 3)).toISOString(),
    updatedAt: "2026-11-25T00:00:00.000Z",
  };
}

function aLogger(lines: string[]): Logger {
  const log = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

describe("job rows written before the cross-server day table", () => {
  it("are copied once per deployment, then listed newest first across servers", async () => {
    const storage = aStorage(azurite.connectionString);
    // Rows as an older version wrote them: in `jobs` only.
    const table = storage.connection.tableClient(JOBS_TABLE);
    await table.createTable();
    for (const row of [aRow(3, "pg-one"), aRow(5, "pg-two"), aRow(4, "pg-one")])
      await table.createEntity(toJobEntity(row));
    expect((await storage.jobs.listPage()).items).toEqual([]);
    const lines: string[] = [];

    await createDayCopyMigration({
      jobs: storage.jobs,
      cursors: storage.cursors,
      logger: aLogger(lines),
    }).ensure();

    expect((await storage.jobs.listPage()).items.map((j) => j.jobId.slice(-1))).toEqual(["5", "4", "3"]);
    expect(lines).toEqual(["info: Copied 3 job row(s) to jobsByDay for the cross-server job list."]);
    let copies = 0;
    const counting = {
      copyAllToDayTable: async () => {
        copies++;
        return 0;
      },
    };
    // Another process (the cursor is recorded), and the same process again (checked once).
    const other = createDayCopyMigration({ jobs: counting, cursors: storage.cursors });
    await other.ensure();
    await other.ensure();
    expect(copies).toBe(0);
  });

  it("logs a failed copy and tries again on the next call", async () => {
    const storage = aStorage(azurite.connectionString);
    const lines: string[] = [];
    let calls = 0;
    const flaky = {
      copyAllToDayTable: async () => {
        if (++calls === 1) throw new Error("storage unavailable");
        return 2;
      },
    };
    const migration = createDayCopyMigration({
      jobs: flaky,
      cursors: storage.cursors,
      logger: aLogger(lines),
    });

    await migration.ensure();
    await migration.ensure();

    expect(lines).toEqual([
      "warn: Copying job rows to jobsByDay failed; retried next cycle: storage unavailable",
      "info: Copied 2 job row(s) to jobsByDay for the cross-server job list.",
    ]);
  });
});
