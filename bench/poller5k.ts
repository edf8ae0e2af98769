import { createApp } from "../src/lib/app.js";
import { loadConfig } from "../src/lib/config/index.js";
import { mapWithConcurrency } from "../src/lib/util/concurrency.js";
import { createActiveJobStore } from "../src/lib/store/activeJobs.js";
import { createJobStore } from "../src/lib/store/jobs.js";
import { aProtectedRow, appView, measurePollCycles } from "./lib/app.js";
import { median } from "./lib/stats.js";
import { compared, round, type Metric, type RunSize, type Runnable } from "./lib/types.js";
import { vaultsEstate } from "./lib/vaultsEstate.js";
import { silentLogger, startWorld } from "./lib/world.js";

const SCALES: Record<RunSize, { inFlight: number; vaults: number; subscriptions: number; cycles: number }> = {
  tiny: { inFlight: 40, vaults: 5, subscriptions: 5, cycles: 2 },
  full: { inFlight: 5_000, vaults: 50, subscriptions: 5, cycles: 5 },
};

/**
 * Issue 18: the job poller at ten times the `poller` benchmark: 5,000 in-flight on-demand backups (plus each
 * server's earlier, finished job) in 50 vaults over 5 subscriptions. ARM calls per cycle, per vault, and the
 * time of a cycle, through Resource Graph (as deployed) and through the vaults' job lists, versus one GET per
 * followed job. Targets: calls per cycle proportional to vaults (at most the pages of each vault's job list
 * without Resource Graph; at most one per vault with it), a cycle under 5 s.
 */
export const poller5k: Runnable = {
  name: "poller-5k",
  title: "Job poller: ARM calls and time per cycle with 5,000 in-flight jobs in 50 vaults",
  async run({ size, log }) {
    const { inFlight, vaults, subscriptions, cycles } = SCALES[size];
    // The running jobs last a week of emulated time: real time, with ARM's pacing as deployed.
    const timeScale = 1;
    const now = Date.now();
    const estate = vaultsEstate({
      servers: inFlight,
      subscriptions,
      vaults,
      now,
      inFlightStartedAt: now - 60_000,
    });
    const world = await startWorld({
      timeScale,
      host: false,
      subscriptions: estate.subscriptionIds,
      hostEnv: { PGFLEX_VAULT_MAP: `westeurope=${(estate.vaultIds[0] ?? "").toLowerCase()}` },
    });
    try {
      world.emulator.core.state.import(estate.seed, { merge: true });
      world.emulator.core.notifyStateLoaded();
      const app = await createApp(loadConfig(world.env), { logger: silentLogger });
      const { servers, connection } = appView(world);
      const activeJobs = createActiveJobStore(connection);
      const gateway = app.azure.backups;
      const jobs = createJobStore(connection);
      const setupStarted = performance.now();
      // The backups were started before the benchmark: each server's row, its running job in the emulator
      // (seeded) and the job's history and activeJobs rows as the backup service writes them after its POST.
      await mapWithConcurrency(estate.inFlight, 32, async (job) => {
        const name = job.serverId.split("/")[8] ?? "";
        const vaultId = job.vaultId.toLowerCase();
        const at = new Date().toISOString();
        const startTime = new Date(job.startMs).toISOString();
        await servers.create(aProtectedRow(job.serverId, vaultId, at));
        await jobs.saveAll([
          {
            jobId: job.jobId,
            jobResourceId: `${job.vaultId}/backupJobs/${job.jobId}`,
            serverId: job.serverId.toLowerCase(),
            serverName: name,
            vaultId,
            instanceName: `${name}-bi`,
            policyName: "pgflex-weekly",
            status: "InProgress",
            startTime,
            origin: "api",
            updatedAt: at,
          },
        ]);
        await activeJobs.upsertAll([
          {
            vaultId,
            jobId: job.jobId,
            serverId: job.serverId.toLowerCase(),
            startTime,
            status: "InProgress",
            origin: "api",
          },
        ]);
      });
      const setupInMs = performance.now() - setupStarted;
      log(`recorded ${inFlight} running backups in ${vaults} vaults in ${round(setupInMs / 1000, 1)} s`);
      const control = world.emulator.control;
      // Two unmeasured cycles: the first sets each vault's cursor (and copies day rows, once).
      const arm = await measurePollCycles(control, app.jobs.poller, cycles, 2);
      const graphApp = await createApp(loadConfig({ ...world.env, PGFLEX_USE_RESOURCE_GRAPH: "true" }), {
        logger: silentLogger,
      });
      const graph = await measurePollCycles(control, graphApp.jobs.poller, cycles, 2);
      const followed: Array<{ jobId: string; vaultId: string }> = [];
      for await (const row of activeJobs.list()) followed.push(row);
      await control.resetCounters();
      const t0 = performance.now();
      await mapWithConcurrency(followed, 8, async (row) => {
        await gateway.getJob(row.vaultId, row.jobId);
      });
      const baselineInMs = performance.now() - t0;
      const baselineCalls = (await control.getCounters()).totals.count;
      const jobsPerVault = Math.ceil((2 * inFlight) / vaults);
      // Without Resource Graph each vault's whole job list is read: its pages of 100 (the emulator's, as ARM's).
      const listPagesPerVault = Math.ceil(jobsPerVault / 100);
      const perVault = (calls: number) => round(calls / vaults, 2);
      log(
        `poller: Resource Graph ${median(graph.calls)} calls, ${round(median(graph.times), 0)} ms per cycle; ` +
          `ARM listing ${median(arm.calls)} calls, ${round(median(arm.times), 0)} ms per cycle; baseline ${baselineCalls} calls, ${round(baselineInMs, 0)} ms`,
      );
      const inProgress = (r: typeof graph.last) => r.failedVaults.length === 0 && r.vaults === vaults;
      const metrics: Metric[] = [
        compared(
          {
            name: "ARM calls per cycle with Resource Graph, as deployed (median)",
            value: median(graph.calls),
            unit: "requests",
            baseline: baselineCalls,
            baselineLabel: "one GET per in-flight job",
            target: `≤ 1 per vault (${vaults})`,
          },
          { higherIsBetter: true },
        ),
        {
          ...compared(
            {
              name: "Time per cycle with Resource Graph (median)",
              value: round(median(graph.times), 0),
              unit: "ms",
              baseline: round(baselineInMs, 0),
              baselineLabel: "one GET per in-flight job, 8 at a time",
              target: "< 5,000 ms",
            },
            { higherIsBetter: true },
          ),
          met: median(graph.times) < 5_000,
        },
        compared(
          {
            name: "ARM calls per cycle without Resource Graph (median)",
            value: median(arm.calls),
            unit: "requests",
            baseline: baselineCalls,
            baselineLabel: "one GET per in-flight job",
            target: `≤ ${listPagesPerVault + 1} per vault (its job list's pages)`,
          },
          { higherIsBetter: true },
        ),
        {
          ...compared(
            {
              name: "Time per cycle without Resource Graph (median)",
              value: round(median(arm.times), 0),
              unit: "ms",
              baseline: round(baselineInMs, 0),
              baselineLabel: "one GET per in-flight job, 8 at a time",
              target: "< 5,000 ms",
            },
            { higherIsBetter: true },
          ),
          met: median(arm.times) < 5_000,
        },
        {
          name: "ARM calls per vault per cycle, with / without Resource Graph",
          value: perVault(median(graph.calls)),
          unit: "requests",
          note: `without: ${perVault(median(arm.calls))} per vault (${jobsPerVault} jobs each, pages of 100)`,
          met: median(graph.calls) <= vaults && median(arm.calls) <= vaults * (listPagesPerVault + 1),
          target: `≤ 1 / ≤ ${listPagesPerVault + 1}`,
        },
        {
          name: "Jobs followed (activeJobs rows)",
          value: followed.length,
          unit: `of ${inFlight}`,
          target: `${inFlight}`,
          met: followed.length === inFlight,
        },
        {
          name: "Vaults polled per cycle",
          value: graph.last.vaults,
          unit: `of ${vaults}`,
          target: `${vaults}, none failed`,
          met: inProgress(graph.last) && inProgress(arm.last),
        },
        {
          name: "Setup: recording the running backups",
          value: round(setupInMs / 1000, 1),
          unit: "s",
          note: "the app's rows written to Azurite, not measured against anything",
        },
      ];
      return {
        outcome: "ok",
        metrics,
        parameters: { inFlight, vaults, subscriptions, cycles, timeScale, pageSize: 100 },
        notes: [
          "The running backups are seeded (the emulator's InProgress jobs, a week long; the app's server, job history and activeJobs rows as the backup service writes them after its POST): starting 5,000 through the API would outlast the jobs it measures. The `poller` benchmark starts its 500 through the API.",
          `Ratios are savings (baseline ÷ poller). Each vault holds ${jobsPerVault} jobs (${inFlight / vaults} in flight, as many finished last week), vault i in subscription i mod ${subscriptions}.`,
          "With Resource Graph a cycle is one paged query (1,000 rows a page) for every vault's jobs since its cursor, plus single GETs of followed jobs the graph has not caught up with: its calls grow with the new jobs, not with vaults or history. Without it, each vault's whole job list is read (the list takes no $filter), 8 vaults at a time: calls grow with vaults × pages of history.",
          `Jobs seen in listings in the last cycle: ${graph.last.listed} (Resource Graph), ${arm.last.listed} (job lists). Time per cycle includes the Azurite reads of activeJobs, cursors and the servers table (the known vaults).`,
        ],
      };
    } finally {
      await world.stop();
    }
  },
};
