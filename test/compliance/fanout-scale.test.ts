import { describe, expect, it } from "vitest";
import { createArmInventory } from "../../src/lib/azure/inventory/armLists.js";
import { createResourceGraphInventory } from "../../src/lib/azure/inventory/resourceGraph.js";
import type {
  ArmListReaders,
  RawJob,
  RawResource,
  ResourceGraphRequest,
} from "../../src/lib/azure/inventory/types.js";
import { createSweeper, type SweepConfig, type SweepScopeMessage } from "../../src/lib/compliance/sweeper.js";
import { createInMemorySweepStore } from "../../src/lib/store/sweeps.js";
import { DAY, NOW, serverIdOf, vaultIdOf } from "../fixtures/compliance/estate.js";

/**
 * Issue 6's estate: 10,000 servers in 50 subscriptions, 5 regions with one vault each, every server
 * protected. ARM list readers over it count their calls; pages of 100 (ARM lists) or 1,000 (Resource Graph).
 */
const SUBS = Array.from({ length: 50 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`);
const REGIONS = ["westeurope", "northeurope", "eastus", "westus", "uksouth"];
const VAULTS = REGIONS.map((r) => vaultIdOf(`bv-${r}`, SUBS[0]));
const PAGE = 100;

function estate() {
  const servers: RawResource[] = [];
  const instances: RawResource[] = [];
  const jobs: RawJob[] = [];
  SUBS.forEach((sub, s) => {
    for (let i = 0; i < 200; i++) {
      const region = (s * 200 + i) % REGIONS.length;
      const id = serverIdOf(`pg-${s}-${i}`, sub);
      const vault = VAULTS[region] ?? "";
      servers.push({ id, name: `pg-${s}-${i}`, location: REGIONS[region], tags: { backup: "weekly" } });
      const bi = `${vault}/backupinstances/pg-${s}-${i}`;
      instances.push({
        id: bi,
        properties: {
          dataSourceInfo: { resourceID: id },
          policyInfo: { policyId: `${vault}/backuppolicies/pgflex-weekly` },
          protectionStatus: { status: "ProtectionConfigured" },
          currentProtectionState: "ProtectionConfigured",
        },
      });
      const at = new Date(NOW.getTime() - 2 * DAY).toISOString();
      jobs.push({
        id: `${vault}/backupjobs/job-${s}-${i}`,
        properties: { backupInstanceId: bi, operationCategory: "Backup", status: "Completed", endTime: at },
      });
    }
  });
  return { servers, instances, jobs };
}

function countingReaders() {
  const e = estate();
  const calls: Record<string, number> = {};
  const count = (name: string) => void (calls[name] = (calls[name] ?? 0) + 1);
  async function* paged<T>(name: string, items: T[], size = PAGE) {
    if (items.length === 0) {
      count(name);
      yield [];
    }
    for (let i = 0; i < items.length; i += size) {
      count(name);
      yield items.slice(i, i + size);
    }
  }
  const inVault = <T extends { id?: string; properties?: { backupInstanceId?: string } }>(v: string, x: T) =>
    (x.id ?? x.properties?.backupInstanceId ?? "").startsWith(`${v}/`);
  const readers: ArmListReaders = {
    listSubscriptions: () =>
      paged(
        "listSubscriptions",
        SUBS.map((subscriptionId) => ({ subscriptionId })),
      ),
    listServers: (sub) =>
      paged(
        "listServers",
        e.servers.filter((s) => s.id?.includes(`/${sub}/`)),
      ),
    listVaults: (sub) =>
      paged(
        "listVaults",
        VAULTS.filter((v) => v.includes(`/${sub}/`)).map((id, i) => ({
          id,
          location: REGIONS[i],
          tags: { "pgflex-autoprotect": "" },
        })),
      ),
    listBackupInstances: (v) =>
      paged(
        "listBackupInstances",
        e.instances.filter((x) => inVault(v, x)),
      ),
    listJobs: (v) =>
      paged(
        "listJobs",
        e.jobs.filter((x) => inVault(v, x)),
      ),
    listPolicies: (v) =>
      paged("listPolicies", [
        {
          id: `${v}/backuppolicies/pgflex-weekly`,
          properties: {
            policyRules: [
              { trigger: { schedule: { repeatingTimeIntervals: ["R/2026-01-04T02:00:00+00:00/P1W"] } } },
            ],
          },
        },
      ]),
    getServer: async () => {
      count("getServer");
      return undefined;
    },
  };
  const graph = async (request: ResourceGraphRequest) => {
    count("resourceGraph");
    const rows = /flexibleservers'/.test(request.query)
      ? e.servers
          .filter((s) => request.subscriptions?.some((sub) => s.id?.includes(`/${sub}/`)))
          .map((s) => ({ ...s, subscriptionId: s.id?.split("/")[2] }))
      : /backupvaults'/.test(request.query)
        ? VAULTS.map((id, i) => ({ id, location: REGIONS[i], tags: { "pgflex-autoprotect": "" } }))
        : /backupjobs'/.test(request.query)
          ? e.jobs
          : // As Azure: backup instances are rows of RecoveryServicesResources only.
            /^RecoveryServicesResources \|.*backupinstances'/i.test(request.query)
            ? e.instances
            : [];
    const start = Number(request.skipToken ?? 0);
    const next = start + (request.top ?? 1000);
    return { data: rows.slice(start, next), ...(next < rows.length ? { skipToken: String(next) } : {}) };
  };
  return { readers, graph, calls };
}

const config: SweepConfig = {
  mode: "report",
  scopes: SUBS,
  backupTag: "backup",
  policyMap: { weekly: "pgflex-weekly" },
  optOutValues: [],
  vaultMap: {},
  vaultMarkerTag: "pgflex-autoprotect",
  staleGraceInMs: DAY,
};

async function fannedOutSweep(useResourceGraph: boolean) {
  const { readers, graph, calls } = countingReaders();
  const queue: SweepScopeMessage[] = [];
  const store = createInMemorySweepStore();
  const sweeper = createSweeper({
    inventory: useResourceGraph ? createResourceGraphInventory(graph, readers) : createArmInventory(readers),
    store,
    config,
    enqueueProtection: async () => {},
    scopeQueue: { send: async (m) => void queue.push(m) },
    now: () => NOW,
  });
  const started = await sweeper.startSweep();
  expect(queue).toHaveLength(50);
  for (const m of queue) await sweeper.processScope(m);
  return { summary: await sweeper.getSweep(started.id), calls };
}

describe("a fanned-out sweep of 10,000 servers in 50 subscriptions and 5 vaults", () => {
  it("reads each vault's job history, instances and policies once with ARM lists", async () => {
    const { summary, calls } = await fannedOutSweep(false);
    expect(summary).toMatchObject({ status: "Complete", total: 10_000, counts: { Protected: 10_000 } });
    expect(calls).toEqual({
      listVaults: 50, // one page per vault subscription, once
      listBackupInstances: 5 * 20, // 2,000 instances a vault in pages of 100, once
      listJobs: 5 * 20,
      listPolicies: 5,
      listServers: 50 * 2, // each unit: its own 200 servers
    });
    expect(summary?.armRequests).toBe(355);
  });

  it("reads each vault's policies once, and instances and job histories in one query each, with Resource Graph", async () => {
    const { summary, calls } = await fannedOutSweep(true);
    expect(summary).toMatchObject({ status: "Complete", total: 10_000, counts: { Protected: 10_000 } });
    expect(calls).toEqual({
      // vaults, instances (10 pages), every vault's jobs (10 pages), then servers once per unit
      resourceGraph: 1 + 10 + 10 + 50,
      listPolicies: 5,
    });
    expect(summary?.armRequests).toBe(76);
  });
});
