import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { trustEmulatorCertificate } from "../../dev/emulator/index.js";
import { createApp, resetApp } from "../../src/lib/app.js";
import { loadConfig } from "../../src/lib/config/index.js";
import type { SweepSummary } from "../../src/lib/store/sweeps.js";
import { silentLogger } from "./world.js";

/**
 * A dry-run sweep in a process of its own, so its resident memory is the app's alone (the emulator, holding
 * the whole estate, stays in the benchmark's process): `runSweepInProcess` spawns this file with the app's
 * settings and the emulator's CA on stdin; the child answers one JSON line prefixed `@@`.
 */
export interface SweepProcessResult {
  summary: SweepSummary;
  sweepInMs: number;
  tableRequests: number;
  /** The child's resident memory just before the sweep, and its peak over its life (bytes). */
  rssBefore: number;
  rssPeak: number;
  /** The V8 heap in use at its highest (sampled every 50 ms): the live data, without what the collector has not freed yet. */
  heapUsedPeak: number;
}

/**
 * V8's old space for the sweep's process, in MiB. Left alone, V8 grows its heap towards its default limit (a
 * quarter of the machine's memory) before collecting hard, so resident memory measures its laziness; a
 * Functions instance with 2 GiB gives Node its own bound the same way.
 */
export const SWEEP_PROCESS_HEAP_IN_MIB = 768;

const MARK = "@@";
const self = fileURLToPath(import.meta.url);

export function runSweepInProcess(
  env: Record<string, string>,
  caCert: string,
  cwd: string,
): Promise<SweepProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${SWEEP_PROCESS_HEAP_IN_MIB}`, "--import", "tsx", self],
      {
        cwd,
        env: { ...process.env, PGFLEX_SWEEP_CHILD: "1" },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(MARK));
      if (code !== 0 || !line) {
        reject(
          new Error(`The sweep process exited with ${code}: ${err.trim().slice(-2000) || out.slice(-2000)}`),
        );
        return;
      }
      resolve(JSON.parse(line.slice(MARK.length)) as SweepProcessResult);
    });
    child.stdin.end(JSON.stringify({ env, caCert }));
  });
}

async function child(): Promise<void> {
  let input = "";
  for await (const chunk of process.stdin) input += String(chunk);
  const { env, caCert } = JSON.parse(input) as { env: Record<string, string>; caCert: string };
  trustEmulatorCertificate(caCert);
  resetApp();
  const { compliance: app } = await createApp(loadConfig(env), { logger: silentLogger });
  const rssBefore = process.memoryUsage.rss();
  let heapUsedPeak = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    heapUsedPeak = Math.max(heapUsedPeak, process.memoryUsage().heapUsed);
  }, 50);
  const before = app.store.requestCount;
  const started = performance.now();
  const report = await app.sweeper.runSweep({ dryRun: true, cause: "bench" });
  const sweepInMs = performance.now() - started;
  clearInterval(sampler);
  const result: SweepProcessResult = {
    summary: report.summary,
    sweepInMs,
    tableRequests: app.store.requestCount - before,
    rssBefore,
    // maxRSS is in KiB: the peak over the child's life, sampled by the kernel.
    rssPeak: process.resourceUsage().maxRSS * 1024,
    heapUsedPeak,
  };
  process.stdout.write(`${MARK}${JSON.stringify(result)}\n`);
}

if (process.env.PGFLEX_SWEEP_CHILD === "1" && process.argv[1] === self) {
  await child();
  process.exit(0);
}
