import { sliceOf } from "../dev/emulator/providers/dataprotection/engine.js";
import { appView, callApi, sleep } from "../bench/lib/app.js";
import type { Check, Runnable } from "../bench/lib/types.js";
import { SERVER_RG, SUBSCRIPTION, startWorld } from "../bench/lib/world.js";
import { mapWithConcurrency } from "../src/lib/util/concurrency.js";
import { createActiveJobStore } from "../src/lib/store/activeJobs.js";
import { createJobStore } from "../src/lib/store/jobs.js";
import { seededRandom } from "./lib/events.js";
import { checkEndState, endState, outcomeOf, waitQuiet } from "./lib/state.js";

const TERMINAL = new Set(["Completed", "CompletedWithWarnings", "Failed", "Cancelled"]);

/**
 * Chaos: every ARM operation fails 10% of the time with 500/503 and 5% with a connection reset, and ARM
 * throttles in bursts (a stingy bucket switched on for 300 ms, then off for 0.4–1.6 s), while tagged servers are
 * created and on-demand backups are requested through the API and the poller runs. Every server must end
 * protected once, every backup job must be tracked to its end, no duplicate instance, no lost message.
 */
export const chaos: Runnable = {
  name: "chaos",
  title: "Chaos: 10% 500/503, 5% connection resets and 429 bursts on every ARM operation",
  async run({ size, log }) {
    const serverCount = size === "tiny" ? 10 : 200;
    const backupCount = size === "tiny" ? 5 : 100;
    // Another seed gives another fault pattern: `PGFLEX_DRILL_SEED=7 npm run drills -- --only chaos`.
    const faultSeed = Number(process.env.PGFLEX_DRILL_SEED ?? "") || 4242;
    const jitter = seededRandom(faultSeed);
    const world = await startWorld({ timeScale: 1000, queuePollIntervalInMs: 50 });
    let stopBursts = false;
    let bursts: Promise<void> = Promise.resolve();
    const gaveUp: string[] = [];
    try {
      const host = world.host;
      if (!host) throw new Error("no host");
      const control = world.emulator.control;
      const view = appView(world);
      await control.setFaults({
        seed: faultSeed,
        rules: [{ operation: "*", errorRate500: 0.05, errorRate503: 0.05, resetRate: 0.05 }],
      });
      const defaults = await control.getThrottling();
      let burstWindows = 0;
      bursts = (async () => {
        while (!stopBursts) {
          await control.setThrottling({
            reads: { burst: 2, perSecond: 0.02 },
            writes: { burst: 1, perSecond: 0.01 },
          });
          burstWindows++;
          await sleep(300);
          await control.setThrottling({ reads: defaults.reads, writes: defaults.writes });
          // Jittered gaps: a fixed 1 s cycle would phase-lock with the 1 s message retry.
          await sleep(400 + Math.floor(jitter() * 1_200));
        }
      })().catch(() => undefined);

      const names = Array.from({ length: serverCount }, (_, i) => `pg-chaos-${String(i).padStart(3, "0")}`);
      await mapWithConcurrency(names, 8, async (name) => {
        await world.addServer(name, { tags: { backup: "weekly" }, publishEvent: true });
      });
      log(`created ${serverCount} tagged servers`);

      // Backups as soon as each server is protected; a 5xx/429 answer is retried as a client would.
      const operator = await world.tokens.mint({ roles: ["Backup.Operator"] });
      const accepted: string[] = [];
      let apiRetries = 0;
      const connectionFailures: string[] = [];
      await mapWithConcurrency(names.slice(0, backupCount), 8, async (name) => {
        let last = "";
        for (let attempt = 0; attempt < 400; attempt++) {
          let res: Awaited<ReturnType<typeof callApi>>;
          try {
            res = await callApi(host, `servers/${SUBSCRIPTION}/${SERVER_RG}/${name}/backups`, {
              method: "POST",
              token: operator,
              body: "{}",
            });
          } catch (e) {
            // No answer at all (on a busy machine, a reused keep-alive connection the host closed): a client
            // retries that as it retries a 5xx, instead of failing the drill.
            const cause = (e as { cause?: unknown }).cause;
            last = `no answer: ${e instanceof Error ? e.message : String(e)}${cause instanceof Error ? ` (${cause.message})` : ""}`;
            connectionFailures.push(last);
            await sleep(50);
            continue;
          }
          if (res.status === 202 || res.status === 200 || res.status === 201) {
            accepted.push(String((res.body as { jobId?: string }).jobId));
            return;
          }
          apiRetries++;
          last = `${res.status} ${JSON.stringify(res.body)}`;
          // A server the app gave up on (Failed) is reported by the protection invariant; no backup for it.
          if (res.status === 409 && last.includes("(state: Failed)")) {
            gaveUp.push(name);
            return;
          }
          await sleep(res.status === 409 ? 100 : 50);
        }
        throw new Error(`backup of ${name} never accepted; last answer: ${last}`);
      });
      log(`${accepted.length} backups accepted (${apiRetries} API retries, ${gaveUp.length} servers Failed)`);

      // Poll until every accepted job is final.
      const connection = view.connection;
      const jobs = createJobStore(connection);
      const activeJobs = createActiveJobStore(connection);
      let pollFailures = 0;
      let cycles = 0;
      for (; cycles < 600; cycles++) {
        try {
          await host.invoke("pollJobs");
        } catch {
          pollFailures++;
        }
        const rows = await Promise.all(accepted.map((id) => jobs.getById(id)));
        let active = 0;
        for await (const _ of activeJobs.list()) active++;
        if (rows.every((r) => r && TERMINAL.has(r.status)) && active === 0) break;
        await sleep(50);
      }
      stopBursts = true;
      await bursts;
      await control.clearFaults();
      await control.setThrottling(defaults);
      await waitQuiet(world, names);
      const state = await endState(world);
      const checks: Check[] = checkEndState(state, names);
      const rows = await Promise.all(accepted.map((id) => jobs.getById(id)));
      const untracked = accepted.filter((_, i) => !rows[i] || !TERMINAL.has(rows[i]?.status ?? ""));
      let active = 0;
      for await (const _ of activeJobs.list()) active++;
      checks.push({
        name: "every accepted backup job tracked to its end",
        passed: untracked.length === 0 && active === 0,
        detail: untracked.length
          ? `${untracked.length} not final, e.g. ${untracked[0]}`
          : `${accepted.length} final, activeJobs empty`,
      });
      const emulatorJobs = Object.values(sliceOf(world.emulator.core.context).jobs).filter(
        (j) => j.isUserTriggered,
      );
      const known = new Set(accepted.map((id) => id.toLowerCase()));
      const tracked = await Promise.all(emulatorJobs.map((j) => jobs.getById(j.name)));
      const orphans = emulatorJobs.filter((j, i) => !known.has(j.name.toLowerCase()) && !tracked[i]);
      checks.push({
        name: "no on-demand job in Azure that the app does not track",
        passed: orphans.length === 0,
        detail: `${emulatorJobs.length} on-demand jobs in the vault, ${emulatorJobs.length - accepted.length} beyond those accepted (retried POSTs), ${orphans.length} untracked`,
      });
      const counters = await control.getCounters();
      const requests = await control.getRequests();
      const faults = requests.filter((r) => r.fault).length;
      const throttled = requests.filter((r) => r.status === 429).length;
      return {
        outcome: outcomeOf(checks),
        checks,
        metrics: [
          { name: "ARM requests", value: counters.totals.count, unit: "requests" },
          { name: "Injected faults (500/503/reset)", value: faults, unit: "responses" },
          {
            name: "429 responses",
            value: throttled,
            unit: "responses",
            note: `${burstWindows} throttling bursts`,
          },
          {
            name: "API retries by the client (5xx/409 while protecting)",
            value: apiRetries,
            unit: "requests",
          },
          {
            name: "API requests without an answer, retried by the client",
            value: connectionFailures.length,
            unit: "requests",
            ...(connectionFailures[0] ? { note: `first: ${connectionFailures[0]}` } : {}),
          },
          {
            name: "Poller cycles to track every job",
            value: cycles + 1,
            unit: "cycles",
            note: `${pollFailures} cycles failed and were retried`,
          },
        ],
        parameters: {
          servers: serverCount,
          backups: backupCount,
          errorRate500: 0.05,
          errorRate503: 0.05,
          resetRate: 0.05,
          faultSeed,
          timeScale: 1000,
        },
        notes: [],
      };
    } finally {
      stopBursts = true;
      await bursts;
      await world.stop();
    }
  },
};
