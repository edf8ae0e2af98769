import { startLocalHost } from "../dev/host/index.js";
import { appView, callApi, sleep } from "../bench/lib/app.js";
import type { Check, Runnable } from "../bench/lib/types.js";
import { SERVER_RG, SUBSCRIPTION, silentLogger, startWorld } from "../bench/lib/world.js";
import { mapWithConcurrency } from "../src/lib/util/concurrency.js";
import { createApp } from "../src/lib/app.js";
import { loadConfig } from "../src/lib/config/index.js";
import { createActiveJobStore } from "../src/lib/store/activeJobs.js";
import { createJobStore } from "../src/lib/store/jobs.js";
import { deliver, serverWriteEvent } from "./lib/events.js";
import { checkEndState, endState, outcomeOf, waitQuiet } from "./lib/state.js";

const TERMINAL = new Set(["Completed", "CompletedWithWarnings", "Failed", "Cancelled"]);

/**
 * Races: two Functions hosts (two workers) consume the same protect-requests queue, each server's event
 * reaching both; then two independent job pollers run their cycles at the same time over the same jobs,
 * activeJobs and servers rows. ETags must prevent every lost update.
 */
export const races: Runnable = {
  name: "races",
  title: "Races: two workers and two pollers on the same rows",
  async run({ size, log }) {
    const serverCount = size === "tiny" ? 6 : 60;
    const world = await startWorld({ timeScale: 1000, subscribeEvents: false, queuePollIntervalInMs: 50 });
    const second = await startLocalHost({
      port: 0,
      timers: "off",
      env: world.env,
      queuePollIntervalInMs: 50,
      visibilityTimeoutInMs: 0,
      logger: silentLogger,
    });
    try {
      const first = world.host;
      if (!first) throw new Error("no host");
      const names = Array.from({ length: serverCount }, (_, i) => `pg-race-${String(i).padStart(3, "0")}`);
      await mapWithConcurrency(names, 8, async (name) => {
        const id = await world.addServer(name, { tags: { backup: "weekly" } });
        const event = serverWriteEvent(id, { backup: "weekly" });
        await Promise.all([deliver(first, [event]), deliver(second, [event])]);
      });
      await waitQuiet(world, names);
      await second.idle();
      log(`protected ${serverCount} servers with two hosts`);

      const operator = await world.tokens.mint({ roles: ["Backup.Operator"] });
      const accepted = new Map<string, string>();
      await mapWithConcurrency(names, 8, async (name) => {
        const res = await callApi(first, `servers/${SUBSCRIPTION}/${SERVER_RG}/${name}/backups`, {
          method: "POST",
          token: operator,
          body: "{}",
        });
        if (res.status !== 202)
          throw new Error(`backup of ${name}: ${res.status} ${JSON.stringify(res.body)}`);
        accepted.set(name, String((res.body as { jobId?: string }).jobId));
      });
      const config = loadConfig(world.env);
      const pollers = [
        (await createApp(config, { logger: silentLogger })).jobs.poller,
        (await createApp(config, { logger: silentLogger })).jobs.poller,
      ];
      const view = appView(world);
      const jobs = createJobStore(view.connection);
      const activeJobs = createActiveJobStore(view.connection);
      /** Servers whose row does not name their backup's job and its final status. */
      const lostUpdates = async (): Promise<string[]> => {
        const lost: string[] = [];
        for (const [name, jobId] of accepted) {
          const row = await view.servers.get(
            `/subscriptions/${SUBSCRIPTION}/resourcegroups/${SERVER_RG}/providers/microsoft.dbforpostgresql/flexibleservers/${name}`,
          );
          const job = await jobs.getById(jobId);
          if (
            !job ||
            !TERMINAL.has(job.status) ||
            row?.lastJobId?.toLowerCase() !== jobId.toLowerCase() ||
            row?.lastBackupStatus !== job.status
          ) {
            lost.push(
              `${name}: row ${row?.lastJobId ?? "-"}/${row?.lastBackupStatus ?? "-"} vs job ${job?.status ?? "missing"}`,
            );
          }
        }
        return lost;
      };
      let conflicts = 0;
      let cycles = 0;
      for (; cycles < 400; cycles++) {
        const results = await Promise.all(pollers.map((p) => p.pollOnce()));
        conflicts += results.reduce((n, r) => n + r.conflicts, 0);
        let active = 0;
        for await (const _ of activeJobs.list()) active++;
        const rows = await Promise.all([...accepted.values()].map((id) => jobs.getById(id)));
        // The host's own poller timer may be the one that ended a job and still be writing its server row:
        // settled means the server rows name their jobs too (the check below says what stayed lost).
        if (
          active === 0 &&
          rows.every((r) => r && TERMINAL.has(r.status)) &&
          (await lostUpdates()).length === 0
        )
          break;
        await sleep(30);
      }
      log(`two pollers: ${cycles + 1} cycles, ${conflicts} conflicts resolved`);
      const state = await endState(world);
      const checks: Check[] = checkEndState(state, names);
      const lost = await lostUpdates();
      checks.push({
        name: "no lost update: each server row names its last job and that job's final status",
        passed: lost.length === 0,
        detail: lost.length ? `${lost.length} lost, e.g. ${lost[0]}` : `${accepted.size} rows consistent`,
      });
      const counters = await world.emulator.control.getCounters();
      return {
        outcome: outcomeOf(checks),
        checks,
        metrics: [
          {
            name: "Write conflicts the pollers resolved by re-reading (ETag 412)",
            value: conflicts,
            unit: "conflicts",
          },
          {
            name: "Backup instance PUTs",
            value: counters.operations["BackupInstances_CreateOrUpdate"]?.count ?? 0,
            unit: "requests",
            baseline: serverCount,
            baselineLabel: "one per server",
          },
          { name: "Poller cycle pairs", value: cycles + 1, unit: "cycles" },
        ],
        parameters: { servers: serverCount, hosts: 2, pollers: 2, timeScale: 1000 },
        notes: [
          "Both hosts receive every server's event (two messages per server on one queue); the two pollers are separate app instances with their own clients and caches.",
        ],
      };
    } finally {
      await second.stop();
      await world.stop();
    }
  },
};
