import { readFile } from "node:fs/promises";
import { startAzurite } from "../dev/azurite/index.js";
import { emptySlice, PROVIDER_NAME } from "../dev/emulator/providers/dataprotection/state.js";
import {
  defaultRestoreSettings,
  ROLE_BLOB_CONTRIBUTOR,
} from "../dev/emulator/providers/dataprotection/restore.js";
import { appView, callApi, settled, sleep, until } from "./lib/app.js";
import { median } from "./lib/stats.js";
import { compared, round, type Metric, type Runnable } from "./lib/types.js";
import { REGION, SERVER_RG, SUBSCRIPTION, VAULT_PRINCIPAL, startWorld } from "./lib/world.js";

/**
 * A restore test of one demo server end to end against the emulator: orders-db (the demo estate's databases)
 * is protected and backed up, then `POST /api/restoreTests` restores its latest recovery point into the test
 * container, the restore tracker and the restore-test advance run at the deployed poll cadence (time-scaled),
 * and every archive is inspected to a verdict. Time to restore is the app's own figure (restore start to
 * verified); real-equivalent = its restore part × the time scale + the inspection (real work, not scaled).
 */

const SERVER = "orders-db";
const SERVER_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${SERVER_RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${SERVER}`;
const ACCOUNT = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/pgflexrestoresbench`;
const TARGET = `${ACCOUNT}/blobServices/default/containers/restore-tests`;
/** The deployed PGFLEX_POLL_SCHEDULE (once a minute, `0 *\/1 * * * *`): the restore tracker and the advance. */
const POLL_INTERVAL_IN_MS = 60_000;
/** What the app may add to Azure's time: one poll interval to see the job end, plus 15 s for its start and inspection. */
const ALLOWED_OVERHEAD_IN_S = POLL_INTERVAL_IN_MS / 1000 + 15;

interface TestView {
  testId: string;
  outcome: string;
  restoreJobId?: string;
  restoreDurationInSeconds?: number;
  inspectionDurationInSeconds?: number;
  timeToRestoreInSeconds?: number;
  reason?: string;
  databases?: Array<{ database: string; tables: Array<{ name: string; rows?: number }> }>;
}

/** orders-db's databases in the demo estate (orders: customers 3, orders 4; billing: invoices 2). */
async function demoDatabases(): Promise<unknown[]> {
  const seed = JSON.parse(await readFile("dev/emulator/seeds/demo-estate.json", "utf8")) as {
    providers: { pgdata: { servers: Array<{ serverId: string; databases: unknown[] }> } };
  };
  const orders = seed.providers.pgdata.servers.find((s) => s.serverId.endsWith(`/${SERVER}`));
  if (!orders) throw new Error(`the demo estate seed has no pgdata for ${SERVER}`);
  return orders.databases;
}

export const restoreTest: Runnable = {
  name: "restore-test",
  title: "A restore test of one demo server end to end: time to restore",
  async run({ size, log }) {
    const tests = size === "tiny" ? 1 : 3;
    const timeScale = size === "tiny" ? 120 : 60;
    const pollWallInMs = POLL_INTERVAL_IN_MS / timeScale;
    const azurite = await startAzurite();
    try {
      const world = await startWorld({
        timeScale,
        storage: azurite,
        emulator: {
          blobConnectionString: azurite.connectionString,
          seed: {
            subscriptions: [{ subscriptionId: SUBSCRIPTION, displayName: "Bench" }],
            providers: {
              pgdata: { servers: [{ serverId: SERVER_ID, databases: await demoDatabases() }] },
              storage: {
                accounts: {
                  restores: {
                    subscriptionId: SUBSCRIPTION,
                    resourceGroupName: "rg-restore",
                    name: "pgflexrestoresbench",
                    location: REGION,
                    allowCrossTenantReplication: true,
                    publicNetworkAccess: "Enabled",
                    containers: ["restore-tests"],
                  },
                },
              },
            },
          },
        },
        hostEnv: {
          PGFLEX_RESTORE_TARGETS: TARGET,
          PGFLEX_RESTORE_TEST_TARGET: TARGET,
          PGFLEX_AUTO_GRANT_ROLES: "false",
        },
      });
      try {
        const host = world.host;
        if (!host) throw new Error("the world has no host");
        // The vault's identity may write restored files into the container (as an operator grants it).
        const name = "0000ba92-0000-4000-8000-000000000bec";
        const id = `${TARGET}/providers/Microsoft.Authorization/roleAssignments/${name}`;
        world.emulator.core.state.roleAssignments.set(id.toLowerCase(), {
          id,
          name,
          scope: TARGET,
          roleDefinitionId: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_BLOB_CONTRIBUTOR}`,
          principalId: VAULT_PRINCIPAL,
          principalType: "ServicePrincipal",
          createdOn: new Date().toISOString(),
          effectiveFromMs: 0,
        });
        const [operator, restorer, reader] = await Promise.all(
          ["Backup.Operator", "Backup.Restore", "Backup.Reader"].map((role) =>
            world.tokens.mint({ roles: [role] }),
          ),
        );
        const serverId = await world.addServer(SERVER, { tags: { backup: "weekly" }, publishEvent: true });
        const row = await settled(appView(world).servers, serverId);
        if (row.state !== "Protected")
          throw new Error(`${SERVER} ended ${row.state}: ${row.lastErrorMessage ?? ""}`);
        const serverPath = `servers/${SUBSCRIPTION}/${SERVER_RG}/${SERVER}`;
        const backup = await callApi(host, `${serverPath}/backups`, {
          method: "POST",
          token: operator,
          body: "{}",
        });
        if (backup.status !== 202)
          throw new Error(`the backup answered ${backup.status}: ${JSON.stringify(backup.body)}`);
        await until(
          async () => {
            const page = await callApi(host, `${serverPath}/recoveryPoints`, { token: reader });
            return ((page.body as { value?: unknown[] }).value ?? []).length ? page : undefined;
          },
          `${SERVER}'s recovery point`,
          { timeoutInMs: 120_000, intervalInMs: 100 },
        );
        log(`${SERVER} protected and backed up`);

        const runs: Array<{
          test: TestView;
          wallInMs: number;
          calls: number;
          reads: number;
          writes: number;
          jobInS: number;
        }> = [];
        for (let i = 0; i < tests; i++) {
          await world.emulator.control.resetCounters();
          const started = Date.now();
          const run = await callApi(host, "restoreTests", {
            method: "POST",
            token: restorer,
            body: JSON.stringify({ serverId: SERVER_ID }),
          });
          const first = (run.body as { started?: TestView[] }).started?.[0];
          if (run.status !== 202 || !first)
            throw new Error(`the restore test did not start: ${JSON.stringify(run.body)}`);
          // The timers as deployed: the restore tracker, then the advance, once a poll interval (time-scaled).
          const test = await until(
            async () => {
              await sleep(pollWallInMs);
              await host.invoke("trackRestores");
              await host.invoke("advanceRestoreTests");
              const t = (await callApi(host, `restoreTests/${first.testId}`, { token: reader }))
                .body as TestView;
              return t.outcome === "Running" ? undefined : t;
            },
            `restore test ${first.testId} to reach a verdict`,
            { timeoutInMs: 120_000, intervalInMs: 0 },
          );
          const wallInMs = Date.now() - started;
          if (test.outcome !== "Passed")
            throw new Error(`restore test ${test.testId} ended ${test.outcome}: ${test.reason ?? ""}`);
          const counters = (await world.emulator.control.getCounters()).totals;
          const jobs = world.emulator.core.context.state.slice(PROVIDER_NAME, emptySlice).jobs;
          const job = Object.values(jobs).find((j) => j.name === test.restoreJobId);
          if (!job)
            throw new Error(`the emulator has no restore job ${test.restoreJobId ?? "(none recorded)"}`);
          runs.push({
            test,
            wallInMs,
            calls: counters.count,
            reads: counters.reads,
            writes: counters.writes,
            jobInS: (job.endMs - job.startMs) / 1000,
          });
          log(`restore test ${i + 1}/${tests}: ${test.outcome}, ${wallInMs} ms wall`);
        }

        const pick = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
        const ttrWall = pick((r) => r.test.timeToRestoreInSeconds ?? 0);
        const inspection = pick((r) => r.test.inspectionDurationInSeconds ?? 0);
        const restoreWall = pick((r) => r.test.restoreDurationInSeconds ?? 0);
        // Emulated time is wall × scale; the inspection is real work and counts once.
        const ttrReal = (ttrWall - inspection) * timeScale + inspection;
        const jobInS = pick((r) => r.jobInS);
        const validateInS = defaultRestoreSettings.validateRestoreDurationInMs / 1000;
        const rows =
          runs[0]?.test.databases?.flatMap((d) =>
            d.tables.map((t) => `${d.database}.${t.name} ${t.rows ?? "?"}`),
          ) ?? [];
        const metrics: Metric[] = [
          compared(
            {
              name: "Time to restore, real-equivalent (median)",
              value: round(ttrReal),
              unit: "s",
              baseline: jobInS,
              baselineLabel: "the emulated restore job's duration (what Azure takes)",
              target: `≤ job + validation (${validateInS} s) + ${ALLOWED_OVERHEAD_IN_S} s`,
            },
            { atMost: (jobInS + validateInS + ALLOWED_OVERHEAD_IN_S) / jobInS },
          ),
          {
            name: "Time to restore, wall (median)",
            value: ttrWall,
            unit: "s",
            note: `at time scale ×${timeScale}`,
          },
          {
            name: "Restore (start to job end), real-equivalent (median)",
            value: round(restoreWall * timeScale),
            unit: "s",
            note: `${restoreWall} s wall: validation, trigger and job, as the app recorded them`,
          },
          {
            name: "Inspection of every archive (median)",
            value: inspection,
            unit: "s",
            note: "real time, not scaled",
          },
          {
            name: "ARM calls per restore test (median)",
            value: pick((r) => r.calls),
            unit: "requests",
            note: `${pick((r) => r.writes)} writes, ${pick((r) => r.reads)} reads, polling once a minute (scaled)`,
          },
          {
            name: "Restore test end to end, wall (median)",
            value: round(pick((r) => r.wallInMs) / 1000, 2),
            unit: "s",
            note: "POST /api/restoreTests to the verdict read back",
          },
        ];
        return {
          outcome: "ok",
          metrics,
          parameters: { tests, timeScale, pollIntervalInSeconds: POLL_INTERVAL_IN_MS / 1000, server: SERVER },
          notes: [`Every test Passed with ${rows.join(", ")}.`],
        };
      } finally {
        await world.stop();
      }
    } finally {
      await azurite.stop();
    }
  },
};
