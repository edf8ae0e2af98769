import { describeMachine } from "./machine.js";
import type { Report } from "./report.js";
import type { RunContext, RunResult, RunSize, Runnable } from "./types.js";

export interface RunAllOptions {
  kind: Report["kind"];
  size: RunSize;
  command: string;
  /** Names to run (default all). */
  only?: string[];
  log?: (line: string) => void;
  abortSignal?: AbortSignal;
}

/** Runs one benchmark or drill; a throw becomes a `failed` result so one broken run never hides the rest. */
export async function runOne(runnable: Runnable, context: RunContext): Promise<RunResult> {
  const started = performance.now();
  try {
    const result = await runnable.run(context);
    return {
      name: runnable.name,
      title: runnable.title,
      ...result,
      wallTimeInMs: performance.now() - started,
    };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    context.log(`${runnable.name} failed: ${error.stack ?? error.message}`);
    return {
      name: runnable.name,
      title: runnable.title,
      outcome: "failed",
      reason: error.message,
      metrics: [],
      parameters: {},
      notes: [],
      wallTimeInMs: performance.now() - started,
    };
  }
}

export async function runAll(runnables: readonly Runnable[], options: RunAllOptions): Promise<Report> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const report: Report = {
    kind: options.kind,
    command: options.command,
    size: options.size,
    startedAt: new Date().toISOString(),
    machine: describeMachine(),
    results: [],
  };
  const selected = options.only?.length ? runnables.filter((r) => options.only?.includes(r.name)) : runnables;
  for (const runnable of selected) {
    const started = new Date().toISOString();
    log(`▶ ${runnable.name} (${options.size})`);
    const result = await runOne(runnable, {
      size: options.size,
      log: (line) => log(`  ${runnable.name}: ${line}`),
      abortSignal: options.abortSignal,
    });
    log(`  ${runnable.name}: ${result.outcome}${result.reason ? ` — ${result.reason}` : ""}`);
    report.results.push({ ...result, startedAt: started, command: options.command });
  }
  return report;
}
