import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createApp, resetApp } from "../../src/lib/app.js";
import { loadConfig } from "../../src/lib/config/index.js";
import { createProtectionMessage, type ProtectionMessage } from "../../src/lib/protection/queueMessages.js";
import { createActiveJobStore } from "../../src/lib/store/activeJobs.js";
import { noTelemetry, useTelemetry } from "../../src/lib/telemetry/index.js";
import { createOtelTelemetry } from "../../src/lib/telemetry/otel.js";
import { mapWithConcurrency } from "../../src/lib/util/concurrency.js";
import { ROLE_LTR_BACKUP, ROLE_READER } from "../../dev/emulator/providers/dataprotection/state.js";
import { largeEstate } from "../../test/fixtures/compliance/emulatorEstate.js";
import { appView, sleep } from "./app.js";
import { silentLogger, startWorld } from "./world.js";

/**
 * What the telemetry ingests: the app over an emulated estate of protected servers with OpenTelemetry's SDK and a
 * reader that collects on demand, with the temporality Azure Monitor's exporter asks for
 * (`AzureMonitorMetricExporter.selectAggregationTemporality`: delta, cumulative for up-down counters only). With
 * delta, a gauge is exported at every collection, a counter or histogram series only when it changed since the
 * last one: the first collection after the activity holds both, a second one after an idle interval only what
 * repeats.
 */

class OnDemandReader extends MetricReader {
  constructor() {
    super({
      aggregationTemporalitySelector: (kind) =>
        kind === InstrumentType.UP_DOWN_COUNTER || kind === InstrumentType.OBSERVABLE_UP_DOWN_COUNTER
          ? AggregationTemporality.CUMULATIVE
          : AggregationTemporality.DELTA,
    });
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface MetricCount {
  name: string;
  /** Points a collection after an idle interval exports (gauges: they repeat at every collection). */
  repeating: number;
  /** Points (and their bytes) of a routine interval: an idle one with the poller's cycle in it. */
  routinePoints: number;
  routineBytes: number;
  /** Points (and bytes) the day's events add beyond the routine: jobs ending, new protections. */
  eventPoints: number;
  eventBytes: number;
}

export interface IngestionSample {
  servers: number;
  finishedJobs: number;
  jobsEnded: number;
  protections: number;
  metrics: MetricCount[];
}

/** Bytes of serialized points. */
const bytesOf = (rows: string[] | undefined) =>
  (rows ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0);

const DAY_IN_SECONDS = 86_400;

/**
 * Ingestion a day at an export interval: every interval exports the routine points (gauges, and the series the
 * poller's once-a-minute cycle changes), plus the day's events (each in its own interval) once.
 */
export function perDay(
  metric: MetricCount,
  exportIntervalInSeconds: number,
): { rows: number; bytes: number } {
  const collections = DAY_IN_SECONDS / exportIntervalInSeconds;
  return {
    rows: metric.routinePoints * collections + metric.eventPoints,
    bytes: metric.routineBytes * collections + metric.eventBytes,
  };
}

/** A point as a stand-in for an `AppMetrics` row: its metric name, attributes, value and time window as JSON. */
function pointsOf(collected: ResourceMetrics): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const metric of collected.scopeMetrics.flatMap((s) => s.metrics)) {
    const name = metric.descriptor.name;
    const rows = byName.get(name) ?? [];
    for (const p of metric.dataPoints as Array<{
      attributes: unknown;
      value: unknown;
      startTime: unknown;
      endTime: unknown;
    }>) {
      rows.push(
        JSON.stringify({
          name,
          attributes: p.attributes,
          value: p.value,
          startTime: p.startTime,
          endTime: p.endTime,
        }),
      );
    }
    byName.set(name, rows);
  }
  return byName;
}

/** Delivers a protection request and its retry-later messages in this process until it settles. */
async function protect(
  process: (m: ProtectionMessage) => Promise<{ kind: string; state?: string; delayInMs?: number }>,
  sent: ProtectionMessage[],
  serverId: string,
): Promise<void> {
  let next: ProtectionMessage | undefined = createProtectionMessage(serverId, { kind: "api" });
  for (let i = 0; next && i < 200; i++) {
    const outcome = await process(next);
    if (outcome.kind === "settled" && outcome.state === "Protected") return;
    if (outcome.kind !== "requeued") throw new Error(`${serverId} ended ${JSON.stringify(outcome)}`);
    await sleep(outcome.delayInMs ?? 0);
    next = sent.pop();
  }
  throw new Error(`${serverId} did not settle`);
}

/**
 * One sweep of `servers` protected servers (10 subscriptions, 3 regions, a vault each), one job-poll cycle in
 * which `finishedJobs` on-demand backups have ended, `protections` new protections; then two collections.
 */
export async function measureIngestion(options: {
  servers: number;
  finishedJobs: number;
  protections: number;
  log: (line: string) => void;
}): Promise<IngestionSample> {
  const { servers, finishedJobs, protections } = options;
  const started = performance.now();
  const log = (line: string) =>
    options.log(`ingestion (${Math.round((performance.now() - started) / 1000)} s): ${line}`);
  const estate = largeEstate({ servers, subscriptions: 10, regions: 3, now: Date.now(), protectedShare: 1 });
  const vaultMap = Object.entries(estate.vaultByRegion)
    .map(([region, id]) => `${region}=${id.toLowerCase()}`)
    .join(",");
  // Jobs last 12 min 15 s of emulated time: at ×1000 they end within a second.
  const world = await startWorld({
    timeScale: 1000,
    host: false,
    subscriptions: estate.subscriptionIds,
    // As deployed (infra sets PGFLEX_USE_RESOURCE_GRAPH=true): the poller's one Resource Graph query a cycle.
    hostEnv: {
      PGFLEX_VAULT_MAP: vaultMap,
      PGFLEX_SCOPES: estate.subscriptionIds.join(","),
      PGFLEX_USE_RESOURCE_GRAPH: "true",
    },
  });
  try {
    world.emulator.core.state.import(estate.seed, { merge: true });
    world.emulator.core.notifyStateLoaded();
    // The estate's vaults share one identity: give it the roles a protection checks, as the world does for its own.
    const principalId = "99999999-0000-0000-0000-000000000002";
    for (const subscriptionId of estate.subscriptionIds) {
      for (const role of [ROLE_LTR_BACKUP, ROLE_READER]) {
        const name = `1111${role.slice(4, 8)}-0000-4000-8000-${subscriptionId.slice(0, 12)}`;
        const scope = `/subscriptions/${subscriptionId}`;
        const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
        world.emulator.core.state.roleAssignments.set(id.toLowerCase(), {
          id,
          name,
          scope,
          roleDefinitionId: `${scope}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
          principalId,
          principalType: "ServicePrincipal",
          createdOn: new Date().toISOString(),
          effectiveFromMs: 0,
        });
      }
    }

    const reader = new OnDemandReader();
    const meters = new MeterProvider({ readers: [reader] });
    const tracers = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
    });
    const sent: ProtectionMessage[] = [];
    resetApp();
    const app = await createApp(loadConfig({ ...world.env, PGFLEX_MODE: "enforce" }), {
      logger: silentLogger,
      telemetry: createOtelTelemetry(meters.getMeter("bench"), tracers.getTracer("bench")),
      stores: { protectionQueue: { send: async (m) => void sent.push(m) } },
    });

    // Every server has its row, as after the worker protected it.
    const { servers: serverStore, connection } = appView(world);
    await mapWithConcurrency(estate.serverIds, 16, async (id) => {
      const [, , sub = "", , rg = "", , , , name = ""] = id.split("/");
      const n = Number(name.slice(3));
      const region = Object.keys(estate.vaultByRegion)[n % 3] ?? "";
      await serverStore.create({
        resourceId: id.toLowerCase(),
        subscriptionId: sub,
        resourceGroup: rg,
        serverName: name,
        region,
        tagValue: "weekly",
        policyName: "pgflex-weekly",
        vaultId: (estate.vaultByRegion[region] ?? "").toLowerCase(),
        instanceName: `${name}-bi`,
        state: "Protected",
        attempts: 0,
        updatedAt: new Date().toISOString(),
      });
    });
    log(`${servers} server rows written`);

    const report = await app.compliance.sweeper.runSweep({ dryRun: true, cause: "bench" });
    log(`sweep ${report.summary.status}, ${report.summary.total} servers`);

    await app.jobs.poller.pollOnce(); // sets each vault's cursor
    const collect = async () => pointsOf((await reader.collect()).resourceMetrics);
    await collect(); // the start: the sweep's figures and the cursor-setting cycle
    // An idle interval: what repeats (the gauges).
    const idle = await collect();
    // A routine interval: the poller's cycle (once a minute) with nothing finished.
    await app.jobs.poller.pollOnce();
    const routine = await collect();

    // The day's events, one at a time as a day spreads them (events in one interval with the same attributes
    // share a point): each collection's points beyond what the interval exports anyway.
    const events = new Map<string, { points: number; bytes: number }>();
    const addEvents = (collected: Map<string, string[]>, beyond: Map<string, string[]>) => {
      for (const [name, rows] of collected) {
        const extra = rows.slice(beyond.get(name)?.length ?? 0);
        const entry = events.get(name) ?? { points: 0, bytes: 0 };
        entry.points += extra.length;
        entry.bytes += bytesOf(extra);
        events.set(name, entry);
      }
    };
    const activeJobs = createActiveJobStore(connection);
    const following = async () => {
      let n = 0;
      for await (const _row of activeJobs.list()) n++;
      return n;
    };
    let ended = 0;
    const pollAndCollect = async () => {
      ended += (await app.jobs.poller.pollOnce()).finished;
      addEvents(await collect(), routine);
    };
    // A backup started each cycle; each lasts 12 min 15 s of emulated time (under a second at ×1000).
    for (const id of estate.serverIds.slice(0, finishedJobs)) {
      const [, , sub = "", , rg = "", , , , name = ""] = id.split("/");
      await app.backups.service.start(
        { subscriptionId: sub, resourceGroup: rg, serverName: name },
        { origin: "api" },
      );
      await pollAndCollect();
    }
    for (let i = 0; i < 100 && (await following()) > 0; i++) {
      await sleep(200);
      await pollAndCollect();
    }
    log(`${ended} jobs ended, ${await following()} still followed`);

    for (let i = 0; i < protections; i++) {
      const id = await world.addServer(`pg-new-${i}`, { tags: { backup: "weekly" } });
      await protect((m) => app.protection.worker.process(m), sent, id);
      addEvents(await collect(), idle);
    }
    log(`${protections} protections`);
    await meters.shutdown();

    const names = new Set([...routine.keys(), ...events.keys()]);
    const metrics = [...names].map((name) => ({
      name,
      repeating: idle.get(name)?.length ?? 0,
      routinePoints: routine.get(name)?.length ?? 0,
      routineBytes: bytesOf(routine.get(name)),
      eventPoints: events.get(name)?.points ?? 0,
      eventBytes: events.get(name)?.bytes ?? 0,
    }));
    return {
      servers,
      finishedJobs,
      protections,
      jobsEnded: ended,
      metrics: metrics.sort((a, b) => b.routineBytes - a.routineBytes),
    };
  } finally {
    useTelemetry(noTelemetry);
    resetApp();
    await world.stop();
  }
}
