import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticTokenCredential, trustEmulatorCertificate } from "../../dev/emulator/index.js";
import { createDataProtectionProvider } from "../../dev/emulator/providers/dataprotection/index.js";
import { sliceOf } from "../../dev/emulator/providers/dataprotection/engine.js";
import { createResourceGraphProvider } from "../../dev/emulator/providers/resourcegraph/index.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { createBackupOperations } from "../../src/lib/azure/backupOperations.js";
import { createInventorySource, createResourceGraphQuery } from "../../src/lib/azure/inventory/armReaders.js";
import { cutOffAndDeduplicate } from "../../src/lib/azure/inventory/jobs.js";
import { createJobPoller } from "../../src/lib/jobs/poller.js";
import { aStorage } from "../fixtures/jobs/stores.js";
import { toArray } from "../support/asyncIterables.js";
import { useAzurite } from "../support/azurite.js";
import {
  aPgFlexPolicy,
  startWorld,
  sub,
  vaultId,
  vaultName,
  vaultRg,
  type DpWorld,
} from "../emulator/dataprotection/helpers.js";

/**
 * `GET …/backupJobs` takes no `$filter` (the spec has no such parameter; the emulator ignores one and lists
 * every page, oldest first). Job reads go through Resource Graph when the app uses it, else through one
 * unfiltered chain of pages per vault, cut off and de-duplicated client-side.
 */
const azurite = useAzurite();
const DAY = 86_400_000;
let world: DpWorld;
let recentJobId = "";
let recentEnd = "";

beforeAll(async () => {
  world = await startWorld({
    timeScale: 2000,
    pageSize: 2,
    providers: [createDataProtectionProvider(), createResourceGraphProvider()],
  });
  // The Resource Graph SDK's transport takes the emulator's certificate from the process's trust store.
  trustEmulatorCertificate(world.emulator.caCert);
  await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  await world.protectServer("pg-jobs");
  const started = await world.client.backupInstances.beginAdhocBackupAndWait(
    vaultRg,
    vaultName,
    "pg-jobs-bi",
    {
      backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} },
    },
  );
  recentJobId = started.jobId;
  try {
    world.control.finishJob(recentJobId, "Completed");
  } catch {
    // already ended (the emulator runs 2000 times faster)
  }
  // Older history of the same instance: five jobs in all, three pages of two, the newest on the last page.
  const slice = sliceOf(world.emulator.core.context);
  const recent = Object.values(slice.jobs).find((j) => j.name === recentJobId);
  if (!recent) throw new Error("the ad hoc job is missing");
  [40, 20, 10, 5].forEach((days, i) => {
    const name = `0000000${i}-0000-4000-8000-00000000000${i}`;
    const id = recent.id.replace(recent.name, name);
    const startMs = recent.startMs - days * DAY;
    slice.jobs[id.toLowerCase()] = { ...recent, id, name, startMs, endMs: startMs + 735_000 };
  });
  const job = await world.client.jobs.get(vaultRg, vaultName, recentJobId);
  recentEnd = job.properties?.endTime ?? "";
});
afterAll(async () => world?.stop());

const clients = () =>
  createArmClients(
    { armEndpoint: world.emulator.url, armCredential: "emulator", azureClientId: undefined },
    { credential: staticTokenCredential(), tlsOptions: { ca: world.emulator.caCert }, updateIntervalInMs: 5 },
  );

async function requestsDuring(work: () => Promise<unknown>): Promise<{ jobLists: number; graph: number }> {
  await world.emulator.control.clearRequests();
  await work();
  const requests = await world.emulator.control.getRequests();
  return {
    jobLists: requests.filter((r) => r.operationName === "Jobs_List").length,
    graph: requests.filter((r) => /microsoft\.resourcegraph/i.test(r.path)).length,
  };
}

const scope = { subscriptionIds: [sub], vaultSubscriptionIds: [sub], vaultIds: [vaultId.toLowerCase()] };

describe("a sweep's job history", () => {
  it("reads each vault's job list once, every page, and finds the last backup on its last page", async () => {
    const source = createInventorySource(clients(), false);
    let lastBackup: string | undefined;
    const calls = await requestsDuring(async () => {
      const vaults = await source.collectVaults?.(scope);
      lastBackup = vaults?.instances[0]?.lastSuccessfulBackupAt;
    });
    expect(lastBackup).toBe(recentEnd);
    // One chain of three pages; sliced filtered reads paged the whole history once per slice.
    expect(calls).toEqual({ jobLists: 3, graph: 0 });
  });

  it("reads every vault's job history in one Resource Graph query when the inventory uses Resource Graph", async () => {
    const source = createInventorySource(clients(), true);
    let vaults: Awaited<ReturnType<NonNullable<typeof source.collectVaults>>> | undefined;
    const calls = await requestsDuring(async () => {
      vaults = await source.collectVaults?.(scope);
    });
    expect(vaults?.instances[0]?.lastSuccessfulBackupAt).toBe(recentEnd);
    expect(vaults?.failures).toEqual([]);
    // vaults, instances, jobs
    expect(calls).toEqual({ jobLists: 0, graph: 3 });
  });
});

describe("the job poller", () => {
  it("reads recent jobs through Resource Graph when the app uses it, without listing the vault", async () => {
    const storage = aStorage(azurite.connectionString);
    const gateway = createBackupOperations(clients(), { useResourceGraph: true });
    const poller = createJobPoller({
      gateway,
      jobs: storage.jobs,
      activeJobs: storage.activeJobs,
      cursors: storage.cursors,
      knownVaults: async () => [vaultId],
      maxLookBackInMs: 30 * DAY,
    });
    let inserted = 0;
    const calls = await requestsDuring(async () => {
      inserted = (await poller.pollOnce()).inserted;
    });
    expect(calls).toEqual({ jobLists: 0, graph: 1 });
    // The 40-day-old job is past the history's reach; the other four are recorded once each.
    expect(inserted).toBe(4);
    expect(await storage.jobs.getById(recentJobId)).toMatchObject({
      status: "Completed",
      endTime: new Date(recentEnd).toISOString(),
    });
  });

  it("lists the vault's whole history without the lookback's old jobs when Resource Graph is off", async () => {
    const gateway = createBackupOperations(clients());
    const since = new Date(Date.parse(recentEnd) - 15 * DAY);
    const jobs = await toArray(gateway.listJobs(vaultId, { startedSince: since }));
    expect(jobs.map((j) => j.name)).toEqual([
      "00000002-0000-4000-8000-000000000002",
      "00000003-0000-4000-8000-000000000003",
      recentJobId,
    ]);
  });
});

describe("Resource Graph's backup jobs", () => {
  it("answers Az PowerShell's Search-AzDataProtectionJobInAzGraph query with the jobs as ARM shows them", async () => {
    const query = createResourceGraphQuery(clients());
    const since = new Date(Date.parse(recentEnd) - 7 * DAY).toISOString().replace(/\.\d{3}Z$/, "Z");
    const kql =
      "RecoveryServicesResources | where type =~ 'microsoft.dataprotection/backupvaults/backupjobs'" +
      "| extend vaultName = properties.vaultName" +
      "| extend status = properties.status" +
      "| extend operation = case( tolower(properties.operationCategory) startswith 'backup' and properties.isUserTriggered == 'true', strcat('OnDemand',properties.operationCategory)" +
      ", tolower(properties.operationCategory) startswith 'backup' and properties.isUserTriggered == 'false', strcat('Scheduled', properties.operationCategory)" +
      ", type =~ 'microsoft.dataprotection/backupVaults/backupJobs', properties.operationCategory, 'Invalid')" +
      " | where properties.dataSourceType in~ ('Microsoft.DBforPostgreSQL/flexibleServers')" +
      ` | where vaultName in~ ('${vaultName}')` +
      `| where properties.startTime > datetime(${since})`;
    const page = await query({ query: kql, subscriptions: [sub], top: 1000 });
    const armJob = await world.client.jobs.get(vaultRg, vaultName, recentJobId);
    expect(page.data).toHaveLength(2);
    expect(page.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: "00000003-0000-4000-8000-000000000003",
          operation: "OnDemandBackup",
        }),
        expect.objectContaining({
          id: armJob.id,
          name: recentJobId,
          type: "microsoft.dataprotection/backupvaults/backupjobs",
          subscriptionId: sub,
          resourceGroup: vaultRg,
          vaultName,
          status: "Completed",
          operation: "OnDemandBackup",
          properties: armJob.properties,
        }),
      ]),
    );
  });
});

describe("Resource Graph's backup instances", () => {
  it("answers Az PowerShell's Search-AzDataProtectionBackupInstanceInAzGraph query from RecoveryServicesResources, each row as ARM's GET shows it", async () => {
    const query = createResourceGraphQuery(clients());
    const type = "microsoft.dataprotection/backupvaults/backupinstances";
    // The cmdlet's query (az CLI's list-from-resourcegraph adds `datasourceId`), its datasource-type and vault filters.
    const kql =
      `RecoveryServicesResources | where type =~ '${type}'` +
      "| extend vaultName = split(split(id, '/Microsoft.DataProtection/backupVaults/')[1],'/')[0]" +
      "| extend protectionState = properties.currentProtectionState" +
      " | where properties.dataSourceInfo.datasourceType in~ ('Microsoft.DBforPostgreSQL/flexibleServers')" +
      ` | where vaultName in~ ('${vaultName}')`;
    const page = await query({ query: kql, subscriptions: [sub], top: 1000 });
    const armInstance = await world.client.backupInstances.get(vaultRg, vaultName, "pg-jobs-bi");
    expect(page.data).toEqual([
      expect.objectContaining({
        id: armInstance.id,
        name: "pg-jobs-bi",
        type,
        subscriptionId: sub,
        resourceGroup: vaultRg,
        vaultName,
        protectionState: "ProtectionConfigured",
        properties: armInstance.properties,
      }),
    ]);
    // Not a row of `resources`, where the vault is.
    const resources = async (t: string) =>
      (await query({ query: `resources | where type =~ '${t}' | project id`, subscriptions: [sub] })).data;
    expect(await resources(type)).toEqual([]);
    expect(await resources("microsoft.dataprotection/backupvaults")).toEqual([{ id: vaultId }]);
  });
});

describe("client-side cutoff", () => {
  it("drops jobs started before the cutoff and gives a job met on two pages once", async () => {
    const job = (name: string, startTime: string) => ({
      name,
      id: `/v/backupJobs/${name}`,
      properties: { startTime },
    });
    async function* pages() {
      yield [job("a", "2026-11-01T00:00:00Z"), job("b", "2026-11-20T00:00:00Z")];
      yield [job("b", "2026-11-20T00:00:00Z"), job("c", "2026-11-21T00:00:00Z")];
    }
    const out = (await toArray(cutOffAndDeduplicate(pages(), new Date("2026-11-10T00:00:00Z")))).flat();
    expect(out.map((j) => j.name)).toEqual(["b", "c"]);
  });
});
