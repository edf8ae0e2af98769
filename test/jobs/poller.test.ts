import { describe, expect, it } from "vitest";
import { createAlerter, type AlertPublisher } from "../../src/lib/alerts/alerts.js";
import { createJobOutcomeHandler } from "../../src/lib/backups/outcomes.js";
import { createJobPoller, type JobPollerDeps } from "../../src/lib/jobs/poller.js";
import type { AlertRecord } from "../../src/lib/store/alerts.js";
import { useAzurite } from "../support/azurite.js";
import { backupServiceOver } from "../support/backups.js";
import type { BackupJob } from "../../src/lib/azure/backupOperations.js";
import { aFakeAzure, aJob } from "../fixtures/jobs/azure.js";
import { SUB, VAULT, aServer, aStorage, serverId } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();

function setup(options: { pageSize?: number } = {}) {
  const storage = aStorage(azurite.connectionString);
  const azure = aFakeAzure(options);
  const published: AlertRecord[] = [];
  const publisher: AlertPublisher = { name: "capture", publish: async (a) => void published.push(a) };
  const alerter = createAlerter({ store: storage.alerts, publishers: [publisher] });
  const deps: JobPollerDeps = {
    gateway: azure.gateway,
    jobs: storage.jobs,
    activeJobs: storage.activeJobs,
    cursors: storage.cursors,
    knownVaults: async () => [VAULT],
    onFinished: createJobOutcomeHandler({ servers: storage.servers, alerter }),
  };
  const poller = createJobPoller(deps);
  const active = async () => {
    const rows = [];
    for await (const r of storage.activeJobs.list()) rows.push(r);
    return rows;
  };
  const history = async () => {
    const rows = [];
    for await (const r of storage.jobs.list()) rows.push(r);
    return rows;
  };
  return { storage, azure, poller, published, deps, active, history };
}

describe("job poller", () => {
  it("records a policy-scheduled job it did not start and follows it to Completed", async () => {
    const { azure, poller, storage, active } = setup();
    const job = azure.add(aJob({ server: "pg-one", isUserTriggered: false }));
    const id = job.name ?? "";

    const first = await poller.pollOnce();
    expect(first).toMatchObject({ vaults: 1, inserted: 1, finished: 0 });
    expect(await storage.jobs.getById(id)).toMatchObject({
      jobId: id,
      origin: "policy",
      status: "InProgress",
      serverId: serverId("pg-one"),
    });
    expect((await active()).map((r) => r.jobId)).toEqual([id]);

    azure.update(id, {
      status: "Completed",
      endTime: "2026-11-25T10:12:15.8223345Z",
      duration: "PT12M15.8223345S",
      extendedInfo: { dataTransferredInBytes: 69088 },
    });
    const second = await poller.pollOnce();
    expect(second).toMatchObject({ updated: 1, finished: 1 });
    expect(await storage.jobs.getById(id)).toMatchObject({
      status: "Completed",
      startTime: "2026-11-25T10:00:00.000Z",
      endTime: "2026-11-25T10:12:15.822Z",
      durationInMs: 735_822,
      bytesTransferred: 69088,
      origin: "policy",
    });
    expect(await active()).toEqual([]);
  });

  it("records a failure with the error and recommended action and raises one alert", async () => {
    const { azure, poller, storage, published } = setup();
    await storage.servers.create(aServer("pg-one"));
    const id = azure.add(aJob({ server: "pg-one" })).name ?? "";
    await poller.pollOnce();
    azure.update(id, {
      status: "Failed",
      endTime: "2026-11-25T10:05:00Z",
      errorDetails: [
        {
          code: "UserErrorMissingRequiredPermissions",
          message: "The vault lacks a role.",
          recommendedAction: ["Grant the role.", "Retry."],
        },
      ],
    });
    await poller.pollOnce();
    await poller.pollOnce();

    expect(await storage.jobs.getById(id)).toMatchObject({
      status: "Failed",
      errorCode: "UserErrorMissingRequiredPermissions",
      errorMessage: "The vault lacks a role.",
      recommendedAction: "Grant the role. Retry.",
    });
    expect(published.map((a) => [a.kind, a.jobId, a.message])).toEqual([
      [
        "JobFailed",
        id,
        `Backup job ${id} of ${serverId("pg-one")} ended Failed with UserErrorMissingRequiredPermissions: The vault lacks a role.`,
      ],
    ]);
    expect(await storage.servers.get(serverId("pg-one"))).toMatchObject({
      lastBackupStatus: "Failed",
      lastJobId: id,
      lastBackupAt: "2026-11-25T10:05:00.000Z",
    });
  });

  it("keeps a finished job followed when its server row could not be written, and writes it next cycle", async () => {
    const { azure, poller, storage, active, deps } = setup();
    await storage.servers.create(aServer("pg-one"));
    let failNext = true;
    const servers = {
      get: storage.servers.get.bind(storage.servers),
      list: storage.servers.list.bind(storage.servers),
      update: async (...args: Parameters<typeof storage.servers.update>) => {
        if (failNext) {
          failNext = false;
          throw new Error("Storage is unavailable");
        }
        return storage.servers.update(...args);
      },
    };
    const alerter = createAlerter({ store: storage.alerts, publishers: [] });
    const flaky = createJobPoller({ ...deps, onFinished: createJobOutcomeHandler({ servers, alerter }) });
    const id = azure.add(aJob({ server: "pg-one" })).name ?? "";
    await poller.pollOnce();
    azure.update(id, { status: "Completed", endTime: "2026-11-25T10:05:00Z" });

    await flaky.pollOnce();
    expect((await storage.servers.get(serverId("pg-one")))?.lastJobId).toBeUndefined();
    expect((await active()).map((r) => r.jobId)).toEqual([id]);

    await flaky.pollOnce();
    expect(await storage.servers.get(serverId("pg-one"))).toMatchObject({
      lastJobId: id,
      lastBackupStatus: "Completed",
      lastBackupAt: "2026-11-25T10:05:00.000Z",
    });
    expect(await active()).toEqual([]);
  });

  it("records CompletedWithWarnings as finished", async () => {
    const { azure, poller, storage, active } = setup();
    const id = azure.add(aJob({ server: "pg-two" })).name ?? "";
    await poller.pollOnce();
    azure.update(id, { status: "completedwithwarnings", endTime: "2026-11-25T10:01:00Z" });
    await poller.pollOnce();
    expect(await storage.jobs.getById(id)).toMatchObject({
      status: "CompletedWithWarnings",
      durationInMs: 60_000,
    });
    expect(await active()).toEqual([]);
  });

  it.each(["Canceled", "cancelled"])(
    "records a job that ends %s as finished and stops following it",
    async (status) => {
      const { azure, poller, storage, active } = setup();
      const id = azure.add(aJob({ server: "pg-two" })).name ?? "";
      await poller.pollOnce();
      azure.update(id, { status, endTime: "2026-11-25T10:01:00Z" });
      expect(await poller.pollOnce()).toMatchObject({ updated: 1, finished: 1 });
      expect(await storage.jobs.getById(id)).toMatchObject({
        status: status === "cancelled" ? "Cancelled" : status,
      });
      expect(await active()).toEqual([]);
    },
  );

  it("stores an unknown status verbatim, logs it once, and keeps following the job to its end", async () => {
    const { azure, deps, storage, active } = setup();
    const warnings: string[] = [];
    const poller = createJobPoller({
      ...deps,
      logger: {
        debug: () => {},
        info: () => {},
        error: () => {},
        warn: (m: string) => void warnings.push(m),
      },
    });
    const id = azure.add(aJob({ server: "pg-two" })).name ?? "";
    await poller.pollOnce();
    azure.update(id, { status: "Paused" });
    await poller.pollOnce();
    await poller.pollOnce();
    expect(await storage.jobs.getById(id)).toMatchObject({ status: "Paused" });
    expect((await active()).map((r) => [r.jobId, r.status])).toEqual([[id, "Paused"]]);
    expect(warnings.filter((w) => w.includes(id))).toEqual([expect.stringContaining("'Paused'")]);

    azure.update(id, { status: "Completed", endTime: "2026-11-25T10:01:00Z" });
    expect(await poller.pollOnce()).toMatchObject({ finished: 1 });
    expect(await active()).toEqual([]);
  });

  it("reads a followed job alone only when the listing misses it", async () => {
    const { azure, poller, storage } = setup();
    const id = azure.add(aJob({ server: "pg-one" })).name ?? "";
    await poller.pollOnce();
    const job = azure.hide(id);
    // The listing no longer shows it, but a GET still finds it finished.
    const getJob = azure.gateway.getJob.bind(azure.gateway);
    let reads = 0;
    azure.gateway.getJob = async (v, j) => {
      reads++;
      return j === id && job?.properties
        ? { ...job, properties: { ...job.properties, status: "Completed", endTime: "2026-11-25T10:03:00Z" } }
        : getJob(v, j);
    };
    await poller.pollOnce();
    expect(reads).toBe(1);
    expect(await storage.jobs.getById(id)).toMatchObject({ status: "Completed" });
  });

  it("records a followed job the vault answers 404 for as Unknown with what to check, and stops following it", async () => {
    const { azure, poller, storage, active, published } = setup();
    await storage.servers.create(aServer("pg-one"));
    const id = azure.add(aJob({ server: "pg-one" })).name ?? "";
    await poller.pollOnce();
    azure.hide(id);

    const result = await poller.pollOnce();

    expect(result).toMatchObject({ fetched: 1, updated: 1, finished: 0 });
    const row = await storage.jobs.getById(id);
    expect(row).toMatchObject({
      status: "Unknown",
      startTime: "2026-11-25T10:00:00.000Z",
      errorCode: "JobNotFound",
      errorMessage: `Backup job ${id} no longer exists in vault bv-weu; its outcome is unknown.`,
      recommendedAction:
        "Check that vault bv-weu and the server's backup instance still exist, and look for the server's " +
        "recovery points in the vault; start a new backup if none is recent.",
    });
    expect(row?.endTime).toBeUndefined();
    expect(await active()).toEqual([]);
    expect(published).toEqual([]);
    expect((await storage.servers.get(serverId("pg-one")))?.lastJobId).toBeUndefined();
    // Nothing left to follow: the next cycle reads no single job.
    expect(await poller.pollOnce()).toMatchObject({ fetched: 0 });
  });

  it("lets the server take a new backup once its vanished job is recorded Unknown", async () => {
    const { azure, poller, storage } = setup();
    await storage.servers.create(aServer("pg-one"));
    const backups = backupServiceOver(storage, azure.gateway, [SUB]);
    const ref = { subscriptionId: SUB, resourceGroup: "rg-db", serverName: "pg-one" };
    const first = await backups.start(ref, { origin: "api" });
    await expect(backups.start(ref, { origin: "api" })).rejects.toMatchObject({
      code: "BackupAlreadyRunning",
    });
    azure.hide(first.jobId);

    await poller.pollOnce();

    expect(await storage.jobs.getById(first.jobId)).toMatchObject({ status: "Unknown", origin: "api" });
    const second = await backups.start(ref, { origin: "api" });
    expect(second.jobId).not.toBe(first.jobId);
  });

  it("replaces Unknown with what the service says when a vanished job shows up again", async () => {
    const { azure, poller, storage } = setup();
    const id = azure.add(aJob({ server: "pg-one" })).name ?? "";
    await poller.pollOnce();
    const job = azure.hide(id);
    await poller.pollOnce();
    expect(await storage.jobs.getById(id)).toMatchObject({ status: "Unknown" });

    if (job) azure.add(job);
    azure.update(id, { status: "Completed", endTime: "2026-11-25T10:12:00Z", duration: "PT12M" });
    await poller.pollOnce();

    const row = await storage.jobs.getById(id);
    expect(row).toMatchObject({ status: "Completed", endTime: "2026-11-25T10:12:00.000Z" });
    expect(row?.errorCode).toBeUndefined();
    expect(row?.errorMessage).toBeUndefined();
  });

  it("never records Unknown over a job another poller saw finish", async () => {
    const { azure, poller, storage, deps, active } = setup();
    const id = azure.add(aJob({ server: "pg-one" })).name ?? "";
    await poller.pollOnce();
    azure.update(id, { status: "Completed", endTime: "2026-11-25T10:12:00Z", duration: "PT12M" });
    // The other poller finishes the row, but this one still holds the follow row it read before.
    const followed = await active();
    await createJobPoller(deps).pollOnce();
    await storage.activeJobs.upsertAll(followed);
    azure.hide(id);

    await poller.pollOnce();

    expect(await storage.jobs.getById(id)).toMatchObject({ status: "Completed" });
    expect(await active()).toEqual([]);
  });

  it("lists each vault once per page and fetches nothing when every job is in the listing", async () => {
    const { azure, poller, deps } = setup({ pageSize: 50 });
    const vaults = [1, 2, 3].map((n) => VAULT.replace("bv-weu", `bv-${n}`));
    deps.knownVaults = async () => vaults;
    for (const vault of vaults)
      for (let i = 0; i < 120; i++)
        azure.add(
          aJob({
            vault,
            server: `pg-${i}`,
            startTime: `2026-11-25T09:${String(i % 60).padStart(2, "0")}:00Z`,
          }),
        );
    const result = await createJobPoller(deps).pollOnce();
    expect(result).toMatchObject({ vaults: 3, listed: 360, inserted: 360, fetched: 0 });
    expect(azure.calls.listPages).toBe(9);
    azure.calls.listPages = 0;
    const second = await poller.pollOnce();
    expect(second).toMatchObject({ fetched: 0, inserted: 0, updated: 0 });
    expect(azure.calls.get).toBe(0);
  });

  it("reads every vault's recent jobs in one Resource Graph read, and each vault's list when that read fails", async () => {
    const { azure, deps, storage } = setup();
    const warnings: string[] = [];
    const asked: Array<Array<{ vaultId: string; startedSince?: Date }>> = [];
    let graphDown = false;
    const first = azure.add(aJob({ server: "pg-one" })).name ?? "";
    const poller = createJobPoller({
      ...deps,
      gateway: {
        ...azure.gateway,
        async listRecentJobs(requests) {
          asked.push([...requests]);
          if (graphDown) throw new Error("Resource Graph answered 503");
          const out = new Map<string, BackupJob[]>();
          for await (const job of azure.gateway.listJobs(VAULT)) out.set(VAULT.toLowerCase(), [job]);
          return out;
        },
      },
      logger: {
        debug: () => {},
        info: () => {},
        error: () => {},
        warn: (m: string) => void warnings.push(m),
      },
    });
    expect(await poller.pollOnce()).toMatchObject({ vaults: 1, inserted: 1, fetched: 0 });
    expect(azure.calls.list).toBe(1); // the fake graph's own read; the poller listed nothing
    expect(asked).toEqual([[{ vaultId: VAULT.toLowerCase() }]]);

    graphDown = true;
    azure.update(first, { status: "Completed", endTime: "2026-11-25T10:12:15Z" });
    expect(await poller.pollOnce()).toMatchObject({ finished: 1 });
    expect(await storage.jobs.getById(first)).toMatchObject({ status: "Completed" });
    expect(asked[1]).toEqual([
      {
        vaultId: VAULT.toLowerCase(),
        startedSince: new Date(Date.parse("2026-11-25T10:00:00Z") - 15 * 60_000),
      },
    ]);
    expect(warnings).toEqual([
      "Reading recent backup jobs through Resource Graph failed; each vault's job list is read instead (one request per page of every vault's history). Check that the app's identity has Reader on the vaults' subscriptions. Cause: Resource Graph answered 503",
    ]);
  });

  it("reaches back no further than the history retention on a vault's first listing", async () => {
    const { azure, deps, history } = setup();
    azure.add(
      aJob({
        server: "pg-one",
        status: "Completed",
        startTime: "2026-01-01T00:00:00Z",
        endTime: "2026-01-01T00:10:00Z",
      }),
    );
    const recent = azure.add(aJob({ server: "pg-one", startTime: "2026-11-20T00:00:00Z" })).name;
    const poller = createJobPoller({
      ...deps,
      now: () => new Date("2026-11-25T00:00:00Z"),
      maxLookBackInMs: 90 * 86_400_000,
    });
    await poller.pollOnce();
    expect((await history()).map((r) => r.jobId)).toEqual([recent]);
  });

  it("keeps one row per job whether the job id is a bare GUID or a full id", async () => {
    const { azure, poller, storage, history } = setup();
    const job = azure.add(aJob({ server: "pg-one" }));
    job.name = `${job.id}`; // some answers name the job by its full id
    await poller.pollOnce();
    expect((await history()).map((r) => r.jobId)).toEqual([job.id?.split("/").pop()]);
    expect(await storage.jobs.getById(job.id?.split("/").pop() ?? "")).toMatchObject({
      jobResourceId: job.id,
    });
  });

  it("loses no update when two pollers race on the same job", async () => {
    const { azure, deps, storage, published, active } = setup();
    await storage.servers.create(aServer("pg-one"));
    const id = azure.add(aJob({ server: "pg-one" })).name ?? "";
    await createJobPoller(deps).pollOnce();
    azure.update(id, {
      status: "Failed",
      endTime: "2026-11-25T10:05:00Z",
      errorDetails: [{ code: "E1", message: "boom" }],
    });
    const [a, b] = await Promise.all([createJobPoller(deps).pollOnce(), createJobPoller(deps).pollOnce()]);
    expect(a.updated + b.updated).toBeGreaterThanOrEqual(1);
    expect(await storage.jobs.getById(id)).toMatchObject({
      status: "Failed",
      errorCode: "E1",
      errorMessage: "boom",
    });
    expect(published).toHaveLength(1);
    expect(await active()).toEqual([]);
  });

  it("records a new job once when two pollers discover it together", async () => {
    const { azure, deps, history, active } = setup();
    const id = azure.add(aJob({ server: "pg-one", status: "InProgress" })).name ?? "";
    const [a, b] = await Promise.all([createJobPoller(deps).pollOnce(), createJobPoller(deps).pollOnce()]);
    expect(a.inserted + b.inserted).toBe(1);
    expect((await history()).map((r) => r.jobId)).toEqual([id]);
    expect((await active()).map((r) => r.jobId)).toEqual([id]);
  });

  it("never moves a finished job back to InProgress when a poller holds an older answer", async () => {
    const { azure, deps, storage } = setup();
    const id = azure.add(aJob({ server: "pg-one" })).name ?? "";
    await createJobPoller(deps).pollOnce();
    azure.update(id, { status: "Completed", endTime: "2026-11-25T10:05:00Z" });
    await createJobPoller(deps).pollOnce();
    // A late, stale listing still says InProgress.
    azure.update(id, { status: "InProgress", endTime: null });
    await createJobPoller(deps).pollOnce();
    expect(await storage.jobs.getById(id)).toMatchObject({ status: "Completed" });
  });
});
