import { sliceOf } from "../dev/emulator/providers/dataprotection/engine.js";
import type { CountersSnapshot } from "../dev/emulator/core/control.js";
import { mapWithConcurrency } from "../src/lib/util/concurrency.js";
import { defaultProtectionSettings } from "../src/lib/protection/settings.js";
import { appView, sleep, statesOf, until } from "./lib/app.js";
import { compared, round, type Metric, type Runnable, type RunSize } from "./lib/types.js";
import { startWorld, SUBSCRIPTION, type World, type WorldOptions } from "./lib/world.js";
import { ARM_WRITES, burstBound, burstTimeMetrics, untilBurstSettled } from "./burst.js";

/** The central backup subscription of `burst-central`: the vault lives here, no server does. */
export const CENTRAL_SUBSCRIPTION = "99999999-9999-4999-8999-999999999999";

/** Server subscriptions: the burst's one, then made-up ones (`22222222-…`, `33333333-…`, …). */
export function serverSubscriptions(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    i === 0
      ? SUBSCRIPTION
      : `${String(i + 1).repeat(8)}-${String(i + 1).repeat(4)}-4${String(i + 1).repeat(3)}-8${String(i + 1).repeat(3)}-${String(i + 1).repeat(12)}`,
  );
}

export interface HostsBurstOptions {
  servers: number;
  subscriptions: number;
  /** Vault in its own subscription, outside the servers' ones (every Data Protection write lands there). */
  centralVault: boolean;
  hosts: number;
  timeScale: number;
  /** Called once the burst's servers are all created (the drill kills hosts from here on). */
  during?: (world: World, done: () => boolean) => Promise<void>;
  /** Called once every server settled, before the world stops (the drill reads the end state here). */
  afterSettled?: (world: World, names: readonly string[]) => Promise<void>;
  world?: Partial<WorldOptions>;
}

export interface HostsBurstResult {
  elapsedInMs: number;
  states: Map<string, number>;
  counters: CountersSnapshot;
  /** 429 answers to write requests (the bucket refused them). */
  throttledWrites: number;
  throttled: number;
  /** Servers of the burst with more than one backup instance in the vault. */
  duplicated: number;
  /** Queue messages (protectServer, protectServerChecks) and event deliveries (onResourceEvent) each host process ran. */
  perHost: Array<{
    protectServer: number;
    protectServerChecks: number;
    onResourceEvent: number;
    starts: number;
  }>;
  names: string[];
  /** Wall ms from the first event to the last validation sent and to the last ARM write admitted. */
  lastValidateInMs: number;
  lastWriteInMs: number;
}

/**
 * A burst of tagged servers protected by several local host processes at once (`startWorld({ hosts })`):
 * measured as bench/burst.ts measures one host, from the first event to the last settled row, with the
 * emulator's counters for writes and 429s.
 */
export async function runHostsBurst(
  options: HostsBurstOptions,
  log: (line: string) => void,
): Promise<HostsBurstResult> {
  const { servers, timeScale } = options;
  const subscriptions = serverSubscriptions(options.subscriptions);
  const world = await startWorld({
    timeScale,
    queuePollIntervalInMs: 50,
    subscriptions,
    hosts: options.hosts,
    ...(options.centralVault ? { vaultSubscription: CENTRAL_SUBSCRIPTION } : {}),
    ...options.world,
    // What these runs measure: the hosts keeping ARM's budget as a fleet (off by default while it is in preview).
    hostEnv: { PGFLEX_ARM_BUDGET: "shared", ...options.world?.hostEnv },
  });
  let finished = false;
  let during: Promise<void> = Promise.resolve();
  try {
    const view = appView(world);
    const control = world.emulator.control;
    // Protect one server first: the vault's policy is created once, outside the burst.
    const warm = await world.addServer("pg-burst-warmup", { tags: { backup: "weekly" }, publishEvent: true });
    await until(
      async () => ((await view.servers.get(warm))?.state === "Protected" ? true : undefined),
      "warm-up",
      // In real time a protection takes Azure about two minutes (validation, then configuration).
      { timeoutInMs: 300_000 },
    );
    await sleep((ARM_WRITES.burst / ARM_WRITES.perSecond / timeScale) * 1000); // refill the write bucket
    await control.resetCounters();
    await control.clearRequests();
    const startedAt = Date.now();
    const started = performance.now();
    const names = Array.from({ length: servers }, (_, i) => `pg-burst-${String(i).padStart(4, "0")}`);
    await mapWithConcurrency(names, 16, async (name, i) => {
      const subscriptionId = subscriptions[i % subscriptions.length] as string;
      await world.addServer(name, { subscriptionId, tags: { backup: "weekly" }, publishEvent: true });
    });
    log(
      `created ${servers} tagged servers in ${subscriptions.length} subscription(s) in ${round((performance.now() - started) / 1000, 1)} s`,
    );
    if (options.during) during = options.during(world, () => finished);
    // A look every 250 ms per 1,000 servers: at 5,000, 1.25 s of wall time (5 s real-equivalent at ×4) of error
    // on runs of minutes, and the bench's own reads stay a small share of Azurite's one thread.
    await untilBurstSettled(view, servers, log, {
      timeoutInMs: 60 * 60_000,
      intervalInMs: Math.max(250, servers / 4),
    });
    const elapsedInMs = performance.now() - started;
    finished = true;
    await during;
    const states = await statesOf(view);
    const counters = await control.getCounters();
    let throttled = 0;
    let throttledWrites = 0;
    for (const op of Object.values(counters.operations)) {
      const n = op.statuses["429"] ?? 0;
      throttled += n;
      if (op.writes > 0) throttledWrites += n;
    }
    const perServer = new Map<string, number>();
    for (const instance of Object.values(sliceOf(world.emulator.core.context).instances)) {
      const name = instance.datasourceKey.split("/").pop() ?? "";
      perServer.set(name, (perServer.get(name) ?? 0) + 1);
    }
    const duplicated = names.filter((n) => (perServer.get(n) ?? 0) > 1).length;
    const perHost = (world.hosts?.instances ?? []).map((h) => ({
      protectServer: h.invocations.protectServer ?? 0,
      protectServerChecks: h.invocations.protectServerChecks ?? 0,
      onResourceEvent: h.invocations.onResourceEvent ?? 0,
      starts: h.starts,
    }));
    const requests = (await control.getRequests()).filter((e) => e.status !== 429);
    const admitted = requests.filter((e) => e.kind === "write");
    const lastOf = (entries: typeof admitted) =>
      entries.length === 0 ? Number.NaN : Math.max(...entries.map((e) => Date.parse(e.time) - startedAt));
    for (const kind of ["write", "read"]) {
      const perWindow = new Map<number, number>();
      for (const e of requests.filter((x) => x.kind === kind)) {
        const window = Math.floor((((Date.parse(e.time) - startedAt) / 1000) * timeScale) / 20) * 20;
        perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
      }
      log(
        `ARM ${kind}s admitted per 20 s (real-equivalent): ${[...perWindow]
          .sort(([a], [b]) => a - b)
          .map(([w, n]) => `${w}s ${n}`)
          .join(", ")}`,
      );
    }
    const lastWriteInMs = lastOf(admitted);
    const lastValidateInMs = lastOf(admitted.filter((e) => /validateForBackup$/i.test(e.path)));
    await options.afterSettled?.(world, names);
    return {
      elapsedInMs,
      states,
      counters,
      throttledWrites,
      throttled,
      duplicated,
      perHost,
      names,
      lastValidateInMs,
      lastWriteInMs,
    };
  } finally {
    finished = true;
    await during.catch(() => undefined);
    await world.stop();
  }
}

/** The figures both multi-host bursts (and the kill drill) report, against the single-host burst's bound. */
export function hostsBurstMetrics(
  r: HostsBurstResult,
  { servers, timeScale, bucketLabel }: { servers: number; timeScale: number; bucketLabel: string },
): { metrics: Metric[]; notes: string[] } {
  const protectedCount = (r.states.get("Protected") ?? 0) - 1;
  const bound = burstBound(servers);
  const { writesNeeded, writesBoundInSeconds, configureInSeconds } = bound;
  const appFirstPollInSeconds = defaultProtectionSettings.configureFirstPollInMs / 1000;
  const writes = r.counters.totals.writes;
  const share = writes > 0 ? (100 * r.throttledWrites) / writes : 0;
  const metrics: Metric[] = [
    ...burstTimeMetrics(bound, {
      elapsedInMs: r.elapsedInMs,
      timeScale,
      boundName: "the single-host burst's bound",
      writesWhere: ` in ${bucketLabel}`,
      atMost: 1.15,
    }),
    {
      name: "Servers protected",
      value: protectedCount,
      unit: `of ${servers}`,
      target: `${servers}`,
      met: protectedCount === servers,
    },
    {
      name: "Servers with more than one backup instance",
      value: r.duplicated,
      unit: "servers",
      target: "0",
      met: r.duplicated === 0,
    },
    {
      name: "ARM writes",
      value: writes,
      unit: "requests",
      baseline: writesNeeded,
      baselineLabel: "2 per server",
    },
    { name: "ARM reads", value: r.counters.totals.reads, unit: "requests" },
    {
      name: "429 share of ARM writes",
      value: round(share, 2),
      unit: "%",
      target: "< 1%",
      met: share < 1,
      note: `${r.throttledWrites} of ${writes} write requests answered 429 (${r.throttled} 429s in all)`,
    },
    compared({
      name: "Last ARM write admitted (real-equivalent, from the first event)",
      value: round((r.lastWriteInMs / 1000) * timeScale, 1),
      unit: "s",
      baseline: round(writesBoundInSeconds, 1),
      baselineLabel: "the write bucket's bound",
      note: `the last validation went at ${round((r.lastValidateInMs / 1000) * timeScale, 1)} s; after the last write the app checks the new instance ${appFirstPollInSeconds} s later (configureFirstPollInMs), Azure takes ${configureInSeconds} s`,
    }),
    {
      name: "Host processes that took queue work",
      value: r.perHost.filter((h) => h.protectServer > 0).length,
      unit: `of ${r.perHost.length}`,
    },
  ];
  const notes = [
    `Work per host process (protectServer messages / protectServerChecks messages / onResourceEvent deliveries / starts): ${r.perHost
      .map(
        (h, i) => `#${i} ${h.protectServer} / ${h.protectServerChecks} / ${h.onResourceEvent} / ${h.starts}`,
      )
      .join(", ")}.`,
    `Each host is its own OS process with its own app and pacer (dev/host/hosts.ts) on one Azurite and one emulator; Event Grid posts to a round-robin front end. Their pacers lease ARM's budget from one shared row per subscription and kind (PGFLEX_ARM_BUDGET=shared, docs/architecture.md "The fleet's ARM budget"): the 429 share measures whether the fleet kept within the bucket, the burst time whether the leases kept it busy.`,
    `Time scale ${timeScale}: real-equivalent time = wall time × ${timeScale}, as bench/burst.ts.`,
    `End states: ${[...r.states].map(([s, n]) => `${s} ${s === "Protected" ? n - 1 : n}`).join(", ")} (warm-up server excluded).`,
  ];
  return { metrics, notes };
}

const sizes = (size: RunSize, full: number, tiny: number) => (size === "tiny" ? tiny : full);

export const burstHosts: Runnable = {
  name: "burst-hosts",
  title: "Burst protection of 1,000 servers in one subscription by 4 host processes",
  async run({ size, log }) {
    const servers = sizes(size, 1000, 20);
    const hosts = sizes(size, 4, 2);
    // As bench/burst.ts: ×4 keeps the run near the single host's wall time, below this machine's CPU.
    const timeScale = sizes(size, 4, 1000);
    const r = await runHostsBurst({ servers, subscriptions: 1, centralVault: false, hosts, timeScale }, log);
    const { metrics, notes } = hostsBurstMetrics(r, { servers, timeScale, bucketLabel: "the subscription" });
    return { outcome: "ok", metrics, parameters: { servers, hosts, timeScale, subscriptions: 1 }, notes };
  },
};

export const burstCentral: Runnable = {
  name: "burst-central",
  title: "Burst of 5,000 servers in 5 subscriptions, vaults in one central backup subscription, 4 hosts",
  async run({ size, log }) {
    const servers = sizes(size, 5000, 25);
    const hosts = sizes(size, 4, 2);
    // Real time (×1): faster, Azurite measures itself. A CPU profile of it at ×4: 80% in LokiJS rebuilding the
    // messages collection's four binary indices, which it does on every message delete and every receive
    // (which first removes expired messages), so each costs O(n log n) in the messages queued, and 5,000
    // servers queue thousands. The hosts then sent 10 writes/s of wall time at ×4 (40 needed) and 17 at ×2
    // (20 needed), with Azurite's one thread at 100%. Azure Storage has no such cost.
    const timeScale = sizes(size, 1, 1000);
    // Empty queues polled at most once a second (the deployed default backs off to a minute): each receive
    // makes Azurite re-sort its message indices, and 4 hosts polling every 50 ms did little else at 5,000.
    const world = size === "tiny" ? {} : { queuePollIntervalInMs: 1_000 };
    const r = await runHostsBurst(
      { servers, subscriptions: 5, centralVault: true, hosts, timeScale, world },
      log,
    );
    const { metrics, notes } = hostsBurstMetrics(r, {
      servers,
      timeScale,
      bucketLabel:
        "the central backup subscription (every validate and create goes to the vault's subscription)",
    });
    notes.push(
      `The servers' 5 subscriptions carry reads only; all ${2 * servers} Data Protection writes (validate and create) land in the central subscription ${CENTRAL_SUBSCRIPTION}, so its write bucket alone sets the bound: ${round(hostsBoundWall(servers, timeScale), 1)} s of wall time at ×${timeScale}.`,
    );
    return {
      outcome: "ok",
      metrics,
      parameters: { servers, hosts, timeScale, subscriptions: 5, vaultSubscription: "central" },
      notes,
    };
  },
};

function hostsBoundWall(servers: number, timeScale: number): number {
  return burstBound(servers).boundInSeconds / timeScale;
}
