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
}

const MARK = "@@";
const self = fileURLToPath(import.meta.url);

export function runSweepInProcess(
  env: Record<string, string>,
  caCert: string,
  cwd: string,
): Promise<SweepProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", self], {
      cwd,
      env: { ...process.env, PGFLEX_SWEEP_CHILD: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
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
  const before = app.store.requestCount;
  const started = performance.now();
  const report = await app.sweeper.runSweep({ dryRun: true, cause: "bench" });
  const sweepInMs = performance.now() - started;
  const result: SweepProcessResult = {
    summary: report.summary,
    sweepInMs,
    tableRequests: app.store.requestCount - before,
    rssBefore,
    // maxRSS is in KiB: the peak over the child's life, sampled by the kernel.
    rssPeak: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${MARK}${JSON.stringify(result)}\n`);
}

if (process.env.PGFLEX_SWEEP_CHILD === "1" && process.argv[1] === self) {
  await child();
  process.exit(0);
}
