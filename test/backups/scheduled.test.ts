import { describe, expect, it } from "vitest";
import {
  createScheduledBackups,
  isDue,
  type ScheduledBackupSelector,
} from "../../src/lib/backups/scheduled.js";
import { useAzurite } from "../support/azurite.js";
import { backupServiceOver } from "../support/backups.js";
import { aFakeAzure } from "../fixtures/jobs/azure.js";
import { SUB, aServer, aStorage, serverId } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();

const nightlyGold: ScheduledBackupSelector = {
  name: "nightly-gold",
  tag: "backup",
  value: "gold",
  schedule: "0 0 1 * * *",
  retentionTag: "Weekly",
};

/** `liveTags`: the servers' tags in ARM by server name (only read for a selector on another tag). */
async function setup(
  now: { value: Date },
  options: { selectors?: ScheduledBackupSelector[]; liveTags?: Record<string, Record<string, string>> } = {},
) {
  const storage = aStorage(azurite.connectionString);
  const azure = aFakeAzure();
  const backups = backupServiceOver(storage, azure.gateway, [SUB]);
  const liveTags = options.liveTags;
  const scheduled = createScheduledBackups({
    selectors: options.selectors ?? [nightlyGold],
    cursors: storage.cursors,
    backups,
    now: () => now.value,
    servers: storage.servers,
    backupTag: "backup",
    readServerTags: async (id) => {
      if (!liveTags) throw new Error("the backup tag is on the row: no ARM read");
      return liveTags[id.split("/").pop() ?? ""];
    },
  });
  return { storage, azure, scheduled };
}

describe("scheduled on-demand backups", () => {
  it("evaluates NCRONTAB schedules in UTC", async () => {
    expect(
      await isDue("0 0 1 * * *", new Date("2026-11-25T00:59:00Z"), new Date("2026-11-25T01:00:00Z")),
    ).toBe(true);
    expect(
      await isDue("0 0 1 * * *", new Date("2026-11-25T01:00:00Z"), new Date("2026-11-25T01:04:00Z")),
    ).toBe(false);
  });

  it("starts backups of the selected servers when due, skipping a server with a running job", async () => {
    const now = { value: new Date("2026-11-25T01:02:00Z") };
    const { storage, azure, scheduled } = await setup(now);
    await storage.servers.create(aServer("pg-gold1", { tagValue: "gold" }));
    await storage.servers.create(aServer("pg-gold2", { tagValue: "gold" }));
    await storage.servers.create(aServer("pg-silver", { tagValue: "silver" }));
    await storage.servers.create(aServer("pg-gold3", { tagValue: "gold", state: "MissingPermissions" }));
    await storage.activeJobs.upsertAll([
      {
        vaultId: aServer("pg-gold2").vaultId ?? "",
        jobId: "00000000-0000-0000-0000-0000000000aa",
        serverId: serverId("pg-gold2"),
        startTime: "2026-11-25T00:30:00.000Z",
        status: "InProgress",
        origin: "policy",
      },
    ]);

    const result = await scheduled.runDue();

    expect(result.due).toEqual(["nightly-gold"]);
    expect(result.started.map((s) => s.serverId)).toEqual([serverId("pg-gold1")]);
    expect(result.skipped).toEqual([
      { selector: "nightly-gold", serverId: serverId("pg-gold2"), code: "BackupAlreadyRunning" },
    ]);
    expect(azure.starts).toEqual([
      {
        vaultId: aServer("pg-gold1").vaultId,
        instanceName: "pg-gold1-pg-gold1-inst",
        retentionTag: "Weekly",
      },
    ]);
    const job = await storage.jobs.getById(result.started[0]?.jobId ?? "");
    expect(job).toMatchObject({ origin: "schedule", schedule: "nightly-gold", retentionTag: "Weekly" });
  });

  it("selects by another tag from the servers' tags in ARM, case-insensitively, skipping a server that is gone", async () => {
    const now = { value: new Date("2026-11-25T01:02:00Z") };
    const byTier: ScheduledBackupSelector = {
      ...nightlyGold,
      name: "nightly-tier1",
      tag: "Tier",
      value: "one",
    };
    const { storage, scheduled } = await setup(now, {
      selectors: [byTier],
      liveTags: { "pg-a": { tier: "ONE" }, "pg-b": { TIER: "two" }, "pg-c": { backup: "one" } },
    });
    for (const name of ["pg-a", "pg-b", "pg-c", "pg-gone"])
      await storage.servers.create(aServer(name, { tagValue: "gold" }));

    const result = await scheduled.runDue();

    expect(result.started.map((s) => s.serverId)).toEqual([serverId("pg-a")]);
    expect(result.skipped).toEqual([]);
    expect(result.failed).toEqual([]);
  });

  it("starts nothing again within the same schedule period and fires again on the next one", async () => {
    const now = { value: new Date("2026-11-25T01:02:00Z") };
    const { storage, azure, scheduled } = await setup(now);
    await storage.servers.create(aServer("pg-gold1", { tagValue: "gold" }));
    await scheduled.runDue();
    now.value = new Date("2026-11-25T01:07:00Z");
    expect((await scheduled.runDue()).due).toEqual([]);
    expect(azure.calls.start).toBe(1);
    // Next night the first backup is still running (nobody polled it to its end), so the server is skipped.
    now.value = new Date("2026-11-26T01:01:00Z");
    const next = await scheduled.runDue();
    expect(next.due).toEqual(["nightly-gold"]);
    expect(next.skipped.map((s) => s.code)).toEqual(["BackupAlreadyRunning"]);
  });

  it("does nothing before the schedule is due", async () => {
    const now = { value: new Date("2026-11-25T12:00:00Z") };
    const { storage, azure, scheduled } = await setup(now);
    await storage.servers.create(aServer("pg-gold1", { tagValue: "gold" }));
    expect(await scheduled.runDue()).toEqual({ due: [], started: [], skipped: [], failed: [] });
    expect(azure.calls.start).toBe(0);
  });
});
