import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { createApp, resetApp, type App } from "../src/lib/app.js";
import { loadConfig } from "../src/lib/config/index.js";
import { createProtectionMessage, type ProtectionMessage } from "../src/lib/protection/queueMessages.js";
import { noTelemetry, useTelemetry, type Telemetry } from "../src/lib/telemetry/index.js";
import { createOtelTelemetry } from "../src/lib/telemetry/otel.js";
import { buildEntry } from "./coldStart.js";
import { repoRoot } from "./lib/cli.js";
import { median } from "./lib/stats.js";
import { compared, round, type Runnable } from "./lib/types.js";
import { silentLogger, startWorld } from "./lib/world.js";
import { measureIngestion, perDay } from "./lib/ingestion.js";

/**
 * What telemetry costs: a cold start (a fresh process imports the entry module and builds the app, as the
 * first invocation does) with telemetry off and on (Azure Monitor's distro, loaded lazily, pointed at an
 * unreachable endpoint: nothing is sent), and the CPU of a protection with the telemetry port off and on
 * (OpenTelemetry's SDK with in-memory readers: the instruments' cost without the network), and what it ingests
 * per 1,000 servers a day (`measureIngestion`: data points the app exports over an emulated estate, counted).
 */

const OFF_ENV = {
  AzureWebJobsStorage: "UseDevelopmentStorage=true",
  PGFLEX_ARM_ENDPOINT: "https://127.0.0.1:9",
  PGFLEX_ARM_CREDENTIAL: "emulator",
  PGFLEX_LOG_LEVEL: "error",
  APPLICATIONINSIGHTS_CONNECTION_STRING: "",
};
const ON_ENV = {
  ...OFF_ENV,
  APPLICATIONINSIGHTS_CONNECTION_STRING:
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/",
};

const coldStartScript = (entry: string, app: string, config: string, telemetry: string) => `
const t0 = performance.now();
await import(${JSON.stringify(entry)});
const { createApp } = await import(${JSON.stringify(app)});
const { loadConfig } = await import(${JSON.stringify(config)});
await createApp(loadConfig(process.env));
const ms = performance.now() - t0;
await (await import(${JSON.stringify(telemetry)})).telemetry().ready;
process.stdout.write("@@" + JSON.stringify({ ms, readyMs: performance.now() - t0 }) + "\\n");
process.exit(0);
`;

interface ColdStart {
  /** The entry module imported and the app built: a first invocation can run. */
  ms: number;
  /** Until telemetry receives calls (the same as `ms` when it is off). */
  readyMs: number;
}

function coldStart(script: string, env: Record<string, string>): Promise<ColdStart> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith("@@"));
      if (code !== 0 || !line) reject(new Error(`node exited ${code}: ${stderr.slice(-500)}`));
      else resolve(JSON.parse(line.slice(2)) as ColdStart);
    });
  });
}

class InMemoryReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

function inMemoryTelemetry(): { telemetry: Telemetry; collect: () => Promise<unknown> } {
  const reader = new InMemoryReader();
  const meters = new MeterProvider({ readers: [reader] });
  const tracers = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new InMemorySpanExporter())],
  });
  return {
    telemetry: createOtelTelemetry(meters.getMeter("bench"), tracers.getTracer("bench")),
    collect: () => reader.collect(),
  };
}

/** Delivers a protection request and its retry-later messages in this process until it settles. */
async function protect(app: App, sent: ProtectionMessage[], serverId: string): Promise<void> {
  let next: ProtectionMessage | undefined = createProtectionMessage(serverId, { kind: "api" });
  for (let i = 0; next && i < 200; i++) {
    const outcome = await app.protection.worker.process(next);
    if (outcome.kind === "settled" && outcome.state === "Protected") return;
    if (outcome.kind !== "requeued") throw new Error(`${serverId} ended ${JSON.stringify(outcome)}`);
    await new Promise((r) => setTimeout(r, outcome.delayInMs));
    next = sent.pop();
  }
  throw new Error(`${serverId} did not settle`);
}

export const telemetryCost: Runnable = {
  name: "telemetry",
  title: "Cost of telemetry: cold start and per-protection CPU, on versus off",
  async run({ size, log }) {
    const runs = size === "tiny" ? 1 : 7;
    const protections = size === "tiny" ? 3 : 20;

    log("transpiling src/ with esbuild");
    const entry = await buildEntry();
    const lib = join(dirname(dirname(entry)), "lib");
    const script = coldStartScript(
      pathToFileURL(entry).href,
      pathToFileURL(join(lib, "app.js")).href,
      pathToFileURL(join(lib, "config", "index.js")).href,
      pathToFileURL(join(lib, "telemetry", "index.js")).href,
    );
    const off: ColdStart[] = [];
    const on: ColdStart[] = [];
    for (let i = 0; i < runs; i++) {
      // Interleaved so a noisy neighbour affects both sides alike.
      off.push(await coldStart(script, OFF_ENV));
      on.push(await coldStart(script, ON_ENV));
    }
    const medianOf = (samples: ColdStart[], k: keyof ColdStart) => round(median(samples.map((x) => x[k])), 1);

    const world = await startWorld({ timeScale: 1000, host: false });
    const cpu: Record<"off" | "on", number> = { off: 0, on: 0 };
    try {
      for (const side of ["off", "on"] as const) {
        const sent: ProtectionMessage[] = [];
        const memory = side === "on" ? inMemoryTelemetry() : undefined;
        resetApp();
        const app = await createApp(loadConfig({ ...world.env, PGFLEX_MODE: "enforce" }), {
          logger: silentLogger,
          telemetry: memory?.telemetry ?? noTelemetry,
          stores: { protectionQueue: { send: async (m) => void sent.push(m) } },
        });
        await protect(app, sent, await world.addServer(`pg-warmup-${side}`, { tags: { backup: "weekly" } }));
        const ids = [];
        for (let i = 0; i < protections; i++) {
          ids.push(await world.addServer(`pg-${side}-${i}`, { tags: { backup: "weekly" } }));
        }
        const started = process.cpuUsage();
        for (const id of ids) await protect(app, sent, id);
        await memory?.collect();
        const used = process.cpuUsage(started);
        cpu[side] = (used.user + used.system) / 1000 / protections;
        log(`${protections} protections with telemetry ${side}: ${round(cpu[side], 1)} ms CPU each`);
      }
    } finally {
      useTelemetry(noTelemetry);
      resetApp();
      await world.stop();
    }

    const estateServers = size === "tiny" ? 50 : 1000;
    const ingestion = await measureIngestion({
      servers: estateServers,
      // A day's share of weekly backups, and a day's new protections.
      finishedJobs: Math.round(estateServers / 7),
      protections: size === "tiny" ? 2 : 20,
      log,
    });
    const per1000 = 1000 / estateServers;
    const dayAt = (seconds: number) => {
      const lines = ingestion.metrics.map((m) => ({ name: m.name, ...perDay(m, seconds) }));
      const rows = lines.reduce((sum, l) => sum + l.rows, 0) * per1000;
      const mb = (lines.reduce((sum, l) => sum + l.bytes, 0) * per1000) / 1e6;
      return { lines, rows, mb };
    };
    const minute = dayAt(60);
    const quarter = dayAt(900);
    for (const l of minute.lines) {
      const m = ingestion.metrics.find((x) => x.name === l.name);
      log(
        `ingestion: ${l.name}: ${m?.repeating} points an idle interval, ${m?.routinePoints} a routine one, ${m?.eventPoints} for the day's events; ` +
          `${Math.round(l.rows * per1000).toLocaleString("en-US")} rows, ${round((l.bytes * per1000) / 1e6, 1)} MB a day per 1,000 servers at 60 s`,
      );
    }

    return {
      outcome: "ok",
      metrics: [
        compared(
          {
            name: "Cold start: entry import + app built, telemetry on (median)",
            value: medianOf(on, "ms"),
            unit: "ms",
            baseline: medianOf(off, "ms"),
            baselineLabel: "telemetry off",
            target: "≤ 1.2×",
          },
          { atMost: 1.2 },
        ),
        compared({
          name: "Until telemetry is ready after a cold start, on (median; it loads in the background)",
          value: medianOf(on, "readyMs"),
          unit: "ms",
          baseline: medianOf(off, "ms"),
          baselineLabel: "app built, telemetry off",
        }),
        compared({
          name: "CPU per protection, telemetry on (process, emulator included)",
          value: round(cpu.on, 1),
          unit: "ms",
          baseline: round(cpu.off, 1),
          baselineLabel: "telemetry off",
        }),
        ...ingestion.metrics.map((m) => ({
          name: `Ingestion a day per 1,000 servers at 60 s: \`${m.name}\` (${m.routinePoints} points a routine interval, ${m.eventPoints} for a day's events, measured at ${estateServers} servers)`,
          value: round((perDay(m, 60).bytes * per1000) / 1e6, 1),
          unit: "MB",
          note: `${Math.round(perDay(m, 60).rows * per1000).toLocaleString("en-US")} rows`,
        })),
        {
          name: "Ingestion rows a day per 1,000 servers, export every 60 s",
          value: Math.round(minute.rows),
          unit: "rows",
        },
        {
          name: "Ingestion a day per 1,000 servers, export every 60 s",
          value: round(minute.mb, 1),
          unit: "MB",
        },
        {
          name: "Ingestion rows a day per 1,000 servers, OTEL_METRIC_EXPORT_INTERVAL=900000",
          value: Math.round(quarter.rows),
          unit: "rows",
        },
        {
          name: "Ingestion a day per 1,000 servers, OTEL_METRIC_EXPORT_INTERVAL=900000",
          value: round(quarter.mb, 1),
          unit: "MB",
        },
      ],
      parameters: {
        processesPerSide: runs,
        protectionsPerSide: protections,
        ingestionServers: estateServers,
        ingestionFinishedJobs: ingestion.finishedJobs,
        ingestionProtections: ingestion.protections,
      },
      notes: [
        "Cold start: a fresh `node` process imports src/functions/index.js (transpiled per file) and builds the app; on = APPLICATIONINSIGHTS_CONNECTION_STRING set (Azure Monitor's distro, exporting to an unreachable endpoint, loads in the background: the first invocation runs while it loads, and shares the CPU with it).",
        "CPU: the emulator runs in the same process, so both sides include its share; on = the OpenTelemetry SDK with in-memory readers.",
        "Ingestion: the app over an emulated estate (10 subscriptions, 3 regions with a vault each, every server protected and with its row, the poller on Resource Graph as deployed) with the OpenTelemetry SDK collecting on demand with Azure Monitor's temporality (delta: a gauge exports at every collection, a counter or histogram series only when it changed). After one sweep: a collection after an idle interval (what repeats), one after a poll cycle with nothing new (a routine interval), then a day's events one interval each: a day's share of weekly backups (servers ÷ 7) started one a poll cycle and collected after each cycle, and a day's new protections collected after each; the points beyond the routine are the events'. A day = routine points × collections a day + the events' points (at 15 min some events would share an interval and a point: an upper bound there). A row's size is the JSON of each point (metric name, attributes, value, start and end time), a stand-in for an AppMetrics row, which adds its own columns (role, instance, SDK version, client fields: a few hundred bytes more). Scaled linearly to 1,000 servers from the measured size.",
      ],
    };
  },
};
