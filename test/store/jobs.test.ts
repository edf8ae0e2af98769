import { describe, expect, it } from "vitest";
import { jobKeys, type JobRecord } from "../../src/lib/store/jobs.js";
import { ConflictError } from "../../src/lib/errors.js";
import { useAzurite } from "../support/azurite.js";
import { aStorage, serverId } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();

function aRow(n: number, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: `00000000-0000-0000-0000-${String(n).padStart(12, "0")}`,
    serverId: serverId("pg-one"),
    serverName: "pg-one",
    vaultId: "/subscriptions/x/resourcegroups/rg/providers/microsoft.dataprotection/backupvaults/v",
    origin: "policy",
    status: "Completed",
    startTime: new Date(Date.UTC(2026, 10, 1 + n)).toISOString(),
    endTime: new Date(Date.UTC(2026, 10, 1 + n, 0, 12)).toISOString(),
    durationInMs: 720_000,
    bytesTransferred: 7_811_555_000,
    updatedAt: "2026-11-25T00:00:00.000Z",
    ...overrides,
  };
}

describe("job store", () => {
  it("keeps a server's jobs newest first with the fields a 7-day timeline needs", async () => {
    const { jobs } = aStorage(azurite.connectionString);
    await jobs.saveAll([aRow(1), aRow(3), aRow(2)]);
    const rows = [];
    for await (const r of jobs.list({ serverId: serverId("pg-one") })) rows.push(r);
    expect(rows.map((r) => r.jobId.slice(-1))).toEqual(["3", "2", "1"]);
    expect(rows[0]).toMatchObject({
      startTime: aRow(3).startTime,
      endTime: aRow(3).endTime,
      durationInMs: 720_000,
      status: "Completed",
      serverId: serverId("pg-one"),
      bytesTransferred: 7_811_555_000,
    });
  });

  it("refuses a stale write with a ConflictError", async () => {
    const { jobs } = aStorage(azurite.connectionString);
    const [saved] = await jobs.saveAll([aRow(1, { status: "InProgress" })]);
    await jobs.saveAll([{ ...saved!, status: "Completed" }]);
    await expect(jobs.saveAll([{ ...saved!, status: "Failed" }])).rejects.toBeInstanceOf(ConflictError);
    expect(await jobs.get(jobKeys(aRow(1)))).toMatchObject({ status: "Completed" });
  });

  it("escapes filter values so a quote cannot widen a query", async () => {
    const { jobs } = aStorage(azurite.connectionString);
    await jobs.saveAll([aRow(1), aRow(2)]);
    const rows = [];
    for await (const r of jobs.list({ status: "x' or status ne 'x" })) rows.push(r);
    expect(rows).toEqual([]);
  });

  it("removes rows older than the retention cutoff and their id index", async () => {
    const { jobs } = aStorage(azurite.connectionString);
    await jobs.saveAll([aRow(1), aRow(2), aRow(10)]);
    expect(await jobs.deleteStartedBefore(new Date(Date.UTC(2026, 10, 5)))).toBe(2);
    expect(await jobs.getById(aRow(1).jobId)).toBeUndefined();
    expect(await jobs.getById(aRow(10).jobId)).toMatchObject({ jobId: aRow(10).jobId });
  });

  it("writes more than one batch for a partition with over 100 rows", async () => {
    const { jobs } = aStorage(azurite.connectionString);
    const rows = Array.from({ length: 130 }, (_, i) =>
      aRow(i + 1, { startTime: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }),
    );
    expect(await jobs.saveAll(rows)).toHaveLength(130);
    const page = await jobs.listPage({ serverId: serverId("pg-one"), maxPageSize: 1000 });
    expect(page.items).toHaveLength(130);
  });
});
