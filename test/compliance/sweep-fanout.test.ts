/**
 * A fanned-out sweep against the ARM emulator: the vault-wide reads (job histories, backup instances,
 * policies, vault discovery) happen once per sweep, not once per subscription unit, counted on the
 * emulator's request log; classification is the same as an in-process sweep.
 */
import { describe, expect, it } from "vitest";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { createInventorySource } from "../../src/lib/azure/inventory/armReaders.js";
import { createSweeper, sweepConfigFrom, type SweepScopeMessage } from "../../src/lib/compliance/sweeper.js";
import type { SweepRow } from "../../src/lib/store/sweeps.js";
import { loadConfig } from "../../src/lib/config/index.js";
import { createInMemorySweepStore } from "../../src/lib/store/sweeps.js";
import { SUB, SUB_DENIED, complianceEstate, expectedClasses } from "../fixtures/compliance/emulatorEstate.js";
import { useEmulator } from "../support/emulator.js";

const emulator = useEmulator(() => ({ seed: complianceEstate(Date.now()), pageSize: 3 }));

function aSweeper(useResourceGraph: boolean, fanOutMinSubscriptions: number) {
  const config = loadConfig({
    AzureWebJobsStorage: "UseDevelopmentStorage=true",
    PGFLEX_ARM_ENDPOINT: emulator.url,
    PGFLEX_ARM_CREDENTIAL: "emulator",
    PGFLEX_SCOPES: `${SUB},${SUB_DENIED}`,
    PGFLEX_POLICY_MAP: "weekly=pgflex-weekly,gold=pgflex-gold",
    PGFLEX_MODE: "report",
  });
  const clients = createArmClients(config, {
    tlsOptions: { ca: emulator.caCert },
    pacing: { retryDelayInMs: 1, maxTransientRetries: 1 },
  });
  const queue: SweepScopeMessage[] = [];
  const store = createInMemorySweepStore();
  const sweeper = createSweeper({
    inventory: createInventorySource(clients, useResourceGraph),
    store,
    config: sweepConfigFrom(config),
    enqueueProtection: async () => {},
    scopeQueue: { send: async (m) => void queue.push(m) },
    fanOutMinSubscriptions,
  });
  return { sweeper, queue, store };
}

/** Requests per kind of vault-wide read, from the emulator's log. */
async function vaultReads(): Promise<{ jobs: number; instances: number; policies: number; graph: number }> {
  const log = await emulator.control.getRequests();
  const count = (re: RegExp) => log.filter((r) => re.test(r.path.split("?")[0] ?? "")).length;
  return {
    jobs: count(/\/backupJobs$/i),
    instances: count(/\/backupInstances$/i),
    policies: count(/\/backupPolicies$/i),
    graph: count(/Microsoft\.ResourceGraph\/resources$/i),
  };
}

const byName = (rows: readonly SweepRow[]) =>
  Object.fromEntries(
    rows
      .map((r) => [r.serverId.split("/").pop(), r.class])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
const sorted = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

describe.each([
  ["ARM lists", false],
  ["Resource Graph", true],
] as const)("fanned-out sweep with %s", (_kind, useResourceGraph) => {
  it("reads job histories, backup instances and policies once per sweep, not once per subscription", async () => {
    // Baseline: the same estate swept in one process (one unit).
    await emulator.control.clearRequests();
    const single = aSweeper(useResourceGraph, 100);
    const { summary: one } = await single.sweeper.runSweep();
    const once = await vaultReads();
    // Job histories: each vault's job list, or one Resource Graph query for every vault.
    if (useResourceGraph) expect(once).toMatchObject({ jobs: 0, graph: 4 });
    else expect(once.jobs).toBeGreaterThan(0);
    expect(one.scopeUnits).toEqual(["all"]);

    await emulator.control.clearRequests();
    const fanned = aSweeper(useResourceGraph, 1);
    const started = await fanned.sweeper.startSweep();
    expect(fanned.queue.map((m) => m.unit)).toEqual([SUB, SUB_DENIED]);
    for (const m of fanned.queue) await fanned.sweeper.processScope(m);
    const done = await fanned.sweeper.getSweep(started.id);

    const reads = await vaultReads();
    expect({ jobs: reads.jobs, instances: reads.instances, policies: reads.policies }).toEqual({
      jobs: once.jobs,
      instances: once.instances,
      policies: once.policies,
    });
    // Resource Graph: vaults, instances and jobs once, then one servers query per unit.
    expect(reads.graph).toBe(useResourceGraph ? 5 : 0);
    // Every ARM request the emulator saw is counted on the sweep.
    expect(done?.armRequests).toBe((await emulator.control.getRequests()).length);
    expect(done).toMatchObject({ status: "Partial", total: one.total, counts: one.counts });
    const rows = [...(fanned.store.rows.get(started.id)?.values() ?? [])];
    expect(byName(rows)).toEqual(sorted(expectedClasses));
  });
});
