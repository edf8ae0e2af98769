import { spawn } from "node:child_process";
import { readdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "./lib/cli.js";
import { compared, round, type Metric, type Runnable } from "./lib/types.js";
import { median } from "./lib/stats.js";

/**
 * Cold start: a fresh Node process imports the app's entry module (src/functions/index.ts, transpiled to
 * plain JS per file with esbuild, as `tsc` would emit it) versus a fresh process importing bare
 * `@azure/functions`. Also lists the heavy SDK packages the entry module loads before any invocation:
 * they should load lazily, per function.
 */

const HEAVY_PACKAGES = [
  "@azure/arm-postgresql-flexible",
  "@azure/arm-authorization",
  "@azure/arm-resourcegraph",
  "@azure/data-tables",
  "@azure/storage-queue",
  "@azure/eventgrid",
  "@azure/identity",
  "@azure/core-lro",
  "@azure-rest/core-client",
  "jose",
];

interface Sample {
  importInMs: number;
  rssInMiB: number;
  heapUsedInMiB: number;
  processInMs: number;
}

const buildDirectory = join(repoRoot, "node_modules", ".cache", "pgflex-bench", "app");

async function listTs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listTs(path)));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Transpiles src/ file by file (no bundling), so module loading is what `npm run build` would give. */
export async function buildEntry(): Promise<string> {
  const { build } = await import("esbuild");
  await rm(buildDirectory, { recursive: true, force: true });
  await build({
    entryPoints: await listTs(join(repoRoot, "src")),
    outdir: join(buildDirectory, "src"),
    outbase: join(repoRoot, "src"),
    format: "esm",
    platform: "node",
    target: "node20",
    bundle: false,
    logLevel: "silent",
  });
  return join(buildDirectory, "src", "functions", "index.js");
}

const measureScript = (specifier: string) => `
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
await import(${JSON.stringify(specifier)});
const importInMs = performance.now() - t0;
const m = process.memoryUsage();
process.stdout.write("@@" + JSON.stringify({ importInMs, rss: m.rss, rss0, heapUsed: m.heapUsed }) + "\\n");
`;

const hooks = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}`;

const listScript = (specifier: string) => `
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
const { port1, port2 } = new MessageChannel();
const urls = new Set();
port1.on("message", (u) => urls.add(u));
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
await import(${JSON.stringify(specifier)});
await new Promise((r) => setTimeout(r, 100));
port1.close();
process.stdout.write("@@" + JSON.stringify([...urls]) + "\\n");
`;

function runNode(script: string): Promise<{ output: string; processInMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: "" },
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
      else resolve({ output: line.slice(2), processInMs: performance.now() - started });
    });
  });
}

async function sample(specifier: string): Promise<Sample> {
  const { output, processInMs } = await runNode(measureScript(specifier));
  const m = JSON.parse(output) as { importInMs: number; rss: number; rss0: number; heapUsed: number };
  return {
    importInMs: m.importInMs,
    rssInMiB: (m.rss - m.rss0) / 2 ** 20,
    heapUsedInMiB: m.heapUsed / 2 ** 20,
    processInMs,
  };
}

/** Heavy packages among the modules an import resolves. */
export async function heavyPackagesLoaded(specifier: string): Promise<string[]> {
  const { output } = await runNode(listScript(specifier));
  const urls = JSON.parse(output) as string[];
  return HEAVY_PACKAGES.filter((p) => urls.some((u) => u.includes(`/node_modules/${p}/`)));
}

export const coldStart: Runnable = {
  name: "cold-start",
  title: "Cold start: app entry module vs bare @azure/functions",
  async run({ size, log }) {
    const runs = size === "tiny" ? 1 : 9;
    log("transpiling src/ with esbuild");
    const entry = await buildEntry();
    const app = pathToFileURL(entry).href;
    const bare = "@azure/functions";
    const appSamples: Sample[] = [];
    const bareSamples: Sample[] = [];
    // Interleaved so a noisy neighbour affects both sides alike.
    for (let i = 0; i < runs; i++) {
      bareSamples.push(await sample(bare));
      appSamples.push(await sample(app));
    }
    const pick = (s: Sample[], k: keyof Sample) => round(median(s.map((x) => x[k])), 1);
    const heavy = await heavyPackagesLoaded(app);
    log(`heavy packages at import: ${heavy.join(", ") || "none"}`);
    const metrics: Metric[] = [
      compared(
        {
          name: "Import time of the entry module (median)",
          value: pick(appSamples, "importInMs"),
          unit: "ms",
          baseline: pick(bareSamples, "importInMs"),
          baselineLabel: "bare @azure/functions",
          target: "≤ 3×",
        },
        { atMost: 3 },
      ),
      compared(
        {
          name: "Memory added by the import (RSS, median)",
          value: pick(appSamples, "rssInMiB"),
          unit: "MiB",
          baseline: pick(bareSamples, "rssInMiB"),
          baselineLabel: "bare @azure/functions",
          target: "≤ 3×",
        },
        { atMost: 3 },
      ),
      compared({
        name: "Heap used after the import (median)",
        value: pick(appSamples, "heapUsedInMiB"),
        unit: "MiB",
        baseline: pick(bareSamples, "heapUsedInMiB"),
        baselineLabel: "bare @azure/functions",
      }),
      compared({
        name: "Whole process: spawn, import, exit (median)",
        value: pick(appSamples, "processInMs"),
        unit: "ms",
        baseline: pick(bareSamples, "processInMs"),
        baselineLabel: "bare @azure/functions",
      }),
      {
        name: "Heavy SDK packages loaded by the entry module",
        value: heavy.length,
        unit: "packages",
        target: "0 (lazy, per function)",
        met: heavy.length === 0,
        ...(heavy.length ? { note: heavy.join(", ") } : {}),
      },
    ];
    return {
      outcome: "ok",
      metrics,
      parameters: { processesPerSide: runs, entry: relative(repoRoot, entry) },
      notes: [
        "Each sample is a fresh `node` process; the entry is src/ transpiled file by file (esbuild, no bundle), as deployed.",
        `Heavy packages checked: ${HEAVY_PACKAGES.join(", ")}.`,
      ],
    };
  },
};
