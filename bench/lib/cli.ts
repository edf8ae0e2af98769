import os from "node:os";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";
import { startCpuLoad } from "./cpuLoad.js";
import { mergeReports, readLatestReport, renderMarkdown, writeReport, type Report } from "./report.js";
import { runAll } from "./runner.js";
import type { RunSize, Runnable } from "./types.js";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const resultsDirectory = join(repoRoot, "bench", "results");

/**
 * `npm run bench|drills [-- --size tiny|full] [--only a,b] [--out dir] [--cpu-load n] [--list]`: runs, prints
 * the Markdown report and writes it with its JSON. Exit code 1 when a run failed (a missed target is not a
 * failure). `--cpu-load n` keeps n busy-looping threads running for the whole run; full-size drills default
 * to one per core, since their invariants must also hold on a machine busy with other work.
 */
export async function main(
  kind: Report["kind"],
  runnables: readonly Runnable[],
  argv = process.argv.slice(2),
) {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: "string", default: "full" },
      only: { type: "string" },
      out: { type: "string" },
      list: { type: "boolean", default: false },
      "cpu-load": { type: "string" },
    },
  });
  if (values.list) {
    for (const r of runnables) process.stdout.write(`${r.name}\t${r.title}\n`);
    return 0;
  }
  if (values.size !== "tiny" && values.size !== "full") {
    process.stderr.write(`--size must be tiny or full, not '${values.size}'.\n`);
    return 2;
  }
  const size: RunSize = values.size;
  const cpuLoad = Number(
    values["cpu-load"] ?? (kind === "drills" && size === "full" ? os.availableParallelism() : 0),
  );
  if (!Number.isInteger(cpuLoad) || cpuLoad < 0) {
    process.stderr.write(`--cpu-load must be a whole number of threads, not '${values["cpu-load"]}'.\n`);
    return 2;
  }
  const only = values.only
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((name) => !runnables.some((r) => r.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`Unknown ${kind} name(s): ${unknown.join(", ")} (see --list).\n`);
    return 2;
  }
  const command = `npm run ${kind}${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`;
  const directory = values.out ?? resultsDirectory;
  const load = startCpuLoad(cpuLoad);
  const unloaded = await runAll(runnables, { kind, size, command, only }).finally(() => load.stop());
  // Each section names its load too, so a section kept by a later `--only` run still says how it ran.
  const ran: Report = {
    ...unloaded,
    cpuLoad,
    results: unloaded.results.map((r) => ({ ...r, parameters: { ...r.parameters, cpuLoad } })),
  };
  // `--only` refreshes its sections of the latest report and keeps the others.
  const report = only?.length
    ? mergeReports(
        await readLatestReport(kind, directory),
        ran,
        runnables.map((r) => r.name),
      )
    : ran;
  const paths = await writeReport(report, directory);
  process.stdout.write(renderMarkdown(report));
  process.stderr.write(
    `Wrote ${relative(process.cwd(), paths.markdown)} and ${relative(process.cwd(), paths.json)}\n`,
  );
  return report.results.some((r) => r.outcome === "failed") ? 1 : 0;
}
