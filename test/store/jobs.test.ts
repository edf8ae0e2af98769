import { describe, expect, it } from "vitest";
import { InvalidContinuationTokenError } from "../../src/lib/util/pageToken.js";
import { JOBS_TABLE, jobKeys, toJobEntity, type JobRecord, type JobStore } from "../../src/lib/store/jobs.js";
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

  it("lists jobs newest first across servers, one page at a time", async () => {
    const { jobs } = aStorage(azurite.connectionString);
    const at = (day: number, hour: number) => new Date(Date.UTC(2026, 10, day, hour)).toISOString();
    await jobs.saveAll([
      aRow(1, { startTime: at(20, 10) }),
      aRow(2, { startTime: at(22, 9) }),
      aRow(3, { serverId: serverId("pg-two"), serverName: "pg-two", startTime: at(22, 11) }),
      aRow(4, { serverId: serverId("pg-two"), serverName: "pg-two", startTime: at(21, 8) }),
      aRow(5, { serverId: serverId("pg-three"), serverName: "pg-three", startTime: at(22, 10) }),
    ]);

    expect(await walk(jobs, { maxPageSize: 2 })).toEqual([["3", "5"], ["2", "4"], ["1"]]);
    expect(
      await walk(jobs, { maxPageSize: 10, since: new Date(at(21, 8)), until: new Date(at(22, 11)) }),
    ).toEqual([["5", "2", "4"]]);
  });

  it("judges a cross-server status filter by the job row when the copy trails it", async () => {
    const storage = aStorage(azurite.connectionString);
    await storage.jobs.saveAll([aRow(1, { status: "InProgress", endTime: undefined }), aRow(2)]);
    // Another writer finished job 1, but its copy was never written (a crash between the two writes).
    const table = storage.connection.tableClient(JOBS_TABLE);
    await table.upsertEntity(toJobEntity(aRow(1, { status: "Failed" })), "Replace");

    expect(await walk(storage.jobs, { maxPageSize: 10, status: "Failed" })).toEqual([["1"]]);
    expect(await walk(storage.jobs, { maxPageSize: 10, status: "InProgress" })).toEqual([[]]);
    const all = await storage.jobs.listPage({ maxPageSize: 10 });
    expect(all.items.map((j) => [j.jobId.slice(-1), j.status])).toEqual([
      ["2", "Completed"],
      ["1", "Failed"],
    ]);
  });

  it("purges the cross-server copies with the rows", async () => {
    const { jobs } = aStorage(azurite.connectionString);
    await jobs.saveAll([aRow(1), aRow(2), aRow(4), aRow(10)]);
    await jobs.deleteStartedBefore(new Date(Date.UTC(2026, 10, 5)));
    expect(await walk(jobs, { maxPageSize: 10 })).toEqual([["0", "4"]]);
  });

  it("refuses a cross-server continuation token that names no day position", async () => {
    const { jobs } = aStorage(azurite.connectionString);
    const forged = Buffer.from(JSON.stringify({ nextPartitionKey: "cGctb25l" })).toString("base64");
    await expect(jobs.listPage({ continuationToken: forged })).rejects.toThrow(
      new InvalidContinuationTokenError("The continuation token is not one this API returned."),
    );
  });
});

async function walk(
  jobs: JobStore,
  options: { maxPageSize: number; status?: string; since?: Date; until?: Date },
): Promise<string[][]> {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const page = await jobs.listPage({ ...options, ...(token ? { continuationToken: token } : {}) });
    pages.push(page.items.map((j) => j.jobId.slice(-1)));
    token = page.continuationToken;
  } while (token && pages.length < 10);
  return pages;
}
