import type { CountersSnapshot, RunningEmulator } from "../../dev/emulator/index.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import type { Config } from "../../src/lib/config/index.js";
import type { largeEstate } from "../../test/fixtures/compliance/emulatorEstate.js";
import {
  createArmPerServerBaselineDeps,
  runPerServerBaseline,
  type PerServerBaselineResult,
} from "./perServerBaseline.js";
import type { Metric } from "./types.js";
import { startWorld, type World } from "./world.js";

/** What the compliance benchmarks sweep: `largeEstate`'s servers, subscriptions and per-region vaults. */
type Estate = ReturnType<typeof largeEstate>;

/**
 * A world for a compliance benchmark, in real time and without a host: the emulator holds `estate`, adding
 * `latencyInMs` to every ARM request (the sweep's and the baseline's alike); every subscription is in scope
 * and no vault map is set. `hostEnv` adds or overrides settings.
 */
export async function startEstateWorld(
  estate: Estate,
  latencyInMs: number,
  hostEnv: Record<string, string> = {},
): Promise<World> {
  const world = await startWorld({
    timeScale: 1,
    host: false,
    subscriptions: estate.subscriptionIds,
    emulator: { latencyInMs },
    hostEnv: { PGFLEX_VAULT_MAP: "", PGFLEX_SCOPES: estate.subscriptionIds.join(","), ...hostEnv },
  });
  try {
    world.emulator.core.state.import(estate.seed, { merge: true });
    world.emulator.core.notifyStateLoaded();
  } catch (e) {
    await world.stop();
    throw e;
  }
  return world;
}

/**
 * The per-server baseline on `serverIds` of `estate` (GET each server, then its backup instance in its region's
 * vault), with clients of its own; its result and the ARM calls it made (the emulator's counters, reset first).
 */
export async function runEstateBaseline(
  config: Config,
  control: RunningEmulator["control"],
  estate: Estate,
  serverIds: readonly string[],
  concurrency: number,
): Promise<{ baseline: PerServerBaselineResult; calls: number }> {
  const clients = createArmClients(config);
  await control.resetCounters();
  const baseline = await runPerServerBaseline(
    createArmPerServerBaselineDeps(clients, serverIds, {
      vaultForRegion: (region) => estate.vaultByRegion[region],
      instanceName: (id) => `${id.split("/").pop() ?? ""}-bi`,
    }),
    { concurrency },
  );
  return { baseline, calls: (await control.getCounters()).totals.count };
}

/** Met when the sweep classified every one of the estate's `servers` and ended Complete. */
export function classifiedMetric(summary: { total: number; status: string }, servers: number): Metric {
  return {
    name: "Servers classified by the sweep",
    value: summary.total,
    unit: `of ${servers}`,
    met: summary.total === servers && summary.status === "Complete",
    target: `${servers}, sweep Complete`,
  };
}

/** Notes naming the sweep's ARM calls by operation (`pages` says how they were paged) and its classes. */
export function sweepCountNotes(
  counters: CountersSnapshot,
  counts: Partial<Record<string, number>>,
  pages: string,
): string[] {
  return [
    `The sweep's ARM calls by operation: ${Object.entries(counters.operations)
      .map(([k, v]) => `${k} ${v.count}`)
      .join(", ")} (${pages}).`,
    `Sweep classes: ${Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
  ];
}
