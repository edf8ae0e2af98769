import { mapWithConcurrency } from "../src/lib/util/concurrency.js";
import type { Runnable } from "../bench/lib/types.js";
import { startWorld, type World } from "../bench/lib/world.js";
import { deliver, serverWriteEvent, shuffle } from "./lib/events.js";
import { checkEndState, endState, outcomeOf, waitQuiet } from "./lib/state.js";

/**
 * Event Grid is at-least-once and unordered: every server's write event (and a later tag write) is
 * delivered three times, shuffled, several at once. The end state must equal a clean run's, where each
 * event arrives once, in order.
 */
async function runOnce(names: readonly string[], copies: number, seed: number) {
  const world: World = await startWorld({
    timeScale: 1000,
    subscribeEvents: false,
    queuePollIntervalInMs: 50,
  });
  try {
    const host = world.host;
    if (!host) throw new Error("no host");
    const events = [];
    for (const name of names) {
      const id = await world.addServer(name, { tags: { backup: "weekly" } });
      events.push(serverWriteEvent(id, { backup: "weekly" }));
      events.push({
        ...serverWriteEvent(`${id}/providers/Microsoft.Resources/tags/default`, { backup: "weekly" }),
        data: {
          ...serverWriteEvent(id).data,
          resourceUri: `${id}/providers/Microsoft.Resources/tags/default`,
          operationName: "Microsoft.Resources/tags/write",
          resourceProvider: "Microsoft.Resources",
        },
      });
    }
    const deliveries =
      copies === 1
        ? events
        : shuffle(
            events.flatMap((e) => Array.from({ length: copies }, () => e)),
            seed,
          );
    await world.emulator.control.resetCounters();
    if (copies === 1) for (const e of deliveries) await deliver(host, [e]);
    else await mapWithConcurrency(deliveries, 8, async (e) => void (await deliver(host, [e])));
    await waitQuiet(world, names);
    const counters = await world.emulator.control.getCounters();
    return { state: await endState(world), deliveries: deliveries.length, counters };
  } finally {
    await world.stop();
  }
}

export const duplicates: Runnable = {
  name: "duplicates",
  title: "Duplicates and reordering: every Event Grid delivery 3×, shuffled",
  async run({ size, log }) {
    const servers = size === "tiny" ? 5 : 50;
    const seed = 20261125;
    const names = Array.from({ length: servers }, (_, i) => `pg-dup-${String(i).padStart(3, "0")}`);
    const clean = await runOnce(names, 1, seed);
    log(`clean run: ${clean.deliveries} deliveries`);
    const chaos = await runOnce(names, 3, seed);
    log(`duplicated run: ${chaos.deliveries} deliveries`);
    const checks = checkEndState(chaos.state, names, clean.state);
    const creates = (c: typeof clean) => c.counters.operations["BackupInstances_CreateOrUpdate"]?.count ?? 0;
    return {
      outcome: outcomeOf(checks),
      checks,
      metrics: [
        {
          name: "Deliveries (clean / duplicated)",
          value: chaos.deliveries,
          unit: "deliveries",
          baseline: clean.deliveries,
          baselineLabel: "clean run",
          ratio: chaos.deliveries / clean.deliveries,
        },
        {
          name: "ARM writes",
          value: chaos.counters.totals.writes,
          unit: "requests",
          baseline: clean.counters.totals.writes,
          baselineLabel: "clean run",
          ratio:
            Math.round((chaos.counters.totals.writes / Math.max(1, clean.counters.totals.writes)) * 100) /
            100,
        },
        {
          name: "Backup instance PUTs",
          value: creates(chaos),
          unit: "requests",
          baseline: creates(clean),
          baselineLabel: "clean run",
        },
      ],
      parameters: { servers, copies: 3, shuffleSeed: seed, parallelDeliveries: 8, timeScale: 1000 },
      notes: [
        "Each server gets a server-write and a tags-write event; the duplicated run delivers every event 3× in a seeded shuffled order, 8 deliveries at a time.",
      ],
    };
  },
};
