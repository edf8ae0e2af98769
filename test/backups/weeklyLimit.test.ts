import { describe, expect, it } from "vitest";
import { createBackupService } from "../../src/lib/backups/service.js";
import { WeeklyBackupLimitError } from "../../src/lib/backups/weeklyLimit.js";
import { useAzurite } from "../support/azurite.js";
import { aFakeAzure } from "../fixtures/jobs/azure.js";
import { SUB, VAULT, aServer, aStorage, serverId } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();
const now = new Date("2026-12-03T12:00:00.000Z"); // a Thursday; the week began Sunday 2026-11-29
const ref = { subscriptionId: SUB, resourceGroup: "rg-db", serverName: "pg-one" };

async function setup() {
  const storage = aStorage(azurite.connectionString);
  const azure = aFakeAzure();
  await storage.servers.create(aServer("pg-one"));
  // The vault's schedule backed the server up last Friday 02:00: this week's is due Friday 02:00.
  await storage.jobs.saveAll([
    {
      jobId: "0f0f0f0f-0000-4000-8000-000000000001",
      serverId: serverId("pg-one"),
      serverName: "pg-one",
      vaultId: VAULT.toLowerCase(),
      origin: "policy",
      status: "Completed",
      startTime: "2026-11-27T02:00:00.000Z",
      updatedAt: "2026-11-27T02:20:00.000Z",
    },
  ]);
  const backups = createBackupService({
    servers: storage.servers,
    jobs: storage.jobs,
    activeJobs: storage.activeJobs,
    gateway: azure.gateway,
    scopes: [SUB],
    now: () => now,
  });
  return { azure, backups, storage };
}

describe("one vaulted backup a week, before the week's scheduled backup", () => {
  it("refuses an on-demand backup that would make this week's scheduled backup fail, naming its time", async () => {
    const { azure, backups } = await setup();
    const refused = await backups.start(ref, { origin: "api" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WeeklyBackupLimitError);
    expect((refused as WeeklyBackupLimitError).body()).toEqual({
      error: {
        code: "WeeklyBackupLimit",
        message:
          "This week's vaulted backup of pg-one is its policy's scheduled backup, due at 2026-12-04T02:00:00.000Z: Azure Backup takes one vaulted backup a week of a PostgreSQL flexible server; later ones in the same week fail (weeks counted from Sunday 00:00 UTC), so a backup now would make that scheduled backup fail. The next backup is possible from 2026-12-06T00:00:00.000Z.",
        target: serverId("pg-one"),
        fix: 'Wait until 2026-12-06T00:00:00.000Z, or send {"force": true} to back up now and let this week\'s scheduled backup fail.',
        thisWeeksBackupAt: "2026-12-04T02:00:00.000Z",
        scheduled: true,
        nextBackupPossibleAt: "2026-12-06T00:00:00.000Z",
      },
    });
    expect(azure.calls.start).toBe(0);
  });

  it("starts it when forced, warning that this week's scheduled backup will fail", async () => {
    const { azure, backups } = await setup();
    const started = await backups.start(ref, { origin: "api", force: true });
    expect(azure.calls.start).toBe(1);
    expect(started.warning).toBe(
      "Started despite the weekly limit: this week's scheduled backup of pg-one, due at 2026-12-04T02:00:00.000Z, will fail (Azure runs only the first vaulted backup of a week).",
    );
  });

  it("names the weekly limit, not a running backup, while the poller still follows a job it recorded as ended", async () => {
    const { backups, storage } = await setup();
    // The poller writes the job's final row, then its follow-up, and only then stops following it.
    await storage.activeJobs.upsertAll([
      {
        vaultId: VAULT.toLowerCase(),
        jobId: "0f0f0f0f-0000-4000-8000-000000000001",
        serverId: serverId("pg-one"),
        startTime: "2026-11-27T02:00:00.000Z",
        status: "InProgress",
        origin: "policy",
      },
    ]);
    const refused = await backups.start(ref, { origin: "api" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WeeklyBackupLimitError);
  });
});
