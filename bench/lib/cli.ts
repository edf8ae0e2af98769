import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";
import { mergeReports, readLatestReport, renderMarkdown, writeReport, type Report } from "./report.js";
import { runAll } from "./runner.js";
import type { RunSize, Runnable } from "./types.js";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const resultsDirectory = join(repoRoot, "bench", "results");

/**
 * `npm run bench|drills [-- --size tiny|full] [--only a,b] [--out dir] [--list]`: runs, prints the Markdown
 * report and writes it with its JSON. Exit code 1 when a run failed (a missed target is not a failure).
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
  const ran = await runAll(runnables, { kind, size, command, only });
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
