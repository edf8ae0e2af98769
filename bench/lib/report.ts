import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { machineLine, type MachineInfo } from "./machine.js";
import type { Metric, RunResult, RunSize } from "./types.js";

export interface Report {
  kind: "bench" | "drills";
  command: string;
  size: RunSize;
  startedAt: string;
  machine: MachineInfo;
  /** Busy-looping threads kept running for the whole run (`--cpu-load`); absent in older reports. */
  cpuLoad?: number;
  results: RunResult[];
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return String(Math.round(value * 100) / 100);
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function metricRow(m: Metric): string {
  const baseline =
    m.baseline === undefined
      ? "—"
      : `${formatNumber(m.baseline)} ${m.unit}${m.baselineLabel ? ` (${m.baselineLabel})` : ""}`;
  const ratio = m.ratio === undefined ? "—" : `${formatNumber(m.ratio)}×`;
  const target = m.target ?? "—";
  const verdict = m.met === undefined ? "" : m.met ? " ✅" : " ❌ missed";
  return `| ${escapeCell(m.name)} | ${formatNumber(m.value)} ${m.unit} | ${escapeCell(baseline)} | ${ratio} | ${escapeCell(target)}${verdict} |${m.note ? ` ${escapeCell(m.note)} |` : " |"}`;
}

/** The report as Markdown: machine and command first, then one section per benchmark or drill. */
export function renderMarkdown(report: Report): string {
  const title = report.kind === "bench" ? "Benchmarks" : "Fault drills";
  const lines = [
    `# ${title} — ${report.startedAt}`,
    "",
    `- Command: \`${report.command}\` (size: ${report.size})`,
    `- Machine: ${machineLine(report.machine)}`,
    ...(report.cpuLoad
      ? [`- CPU load: ${report.cpuLoad} busy-looping worker thread(s) for the whole run (--cpu-load)`]
      : []),
    "",
  ];
  for (const r of report.results) {
    lines.push(`## ${r.title}`, "");
    if (r.command && r.command !== report.command) {
      lines.push(`Run by \`${r.command}\`${r.startedAt ? ` at ${r.startedAt}` : ""}.`, "");
    }
    const outcome = r.outcome === "ok" ? "ok" : `**${r.outcome}**${r.reason ? `: ${r.reason}` : ""}`;
    lines.push(`Outcome: ${outcome} (wall time ${formatNumber(r.wallTimeInMs / 1000)} s)`, "");
    const params = Object.entries(r.parameters);
    if (params.length > 0) {
      lines.push(`Parameters: ${params.map(([k, v]) => `${k}=${String(v)}`).join(", ")}`, "");
    }
    if (r.metrics.length > 0) {
      lines.push("| Figure | Value | Baseline | Ratio | Target | Note |", "|---|---|---|---|---|---|");
      for (const m of r.metrics) lines.push(metricRow(m));
      lines.push("");
    }
    if (r.checks && r.checks.length > 0) {
      lines.push("| Invariant | Verdict | Detail |", "|---|---|---|");
      for (const c of r.checks) {
        lines.push(
          `| ${escapeCell(c.name)} | ${c.passed ? "✅ held" : "❌ broken"} | ${escapeCell(c.detail ?? "")} |`,
        );
      }
      lines.push("");
    }
    for (const n of r.notes) lines.push(`- ${n}`);
    if (r.notes.length > 0) lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/**
 * A partial run (`--only`) folded into the previous report of the same kind and size: its sections replace
 * theirs, the others stay with their own command and time, in the order of `names`.
 */
export function mergeReports(
  previous: Report | undefined,
  current: Report,
  names: readonly string[],
): Report {
  if (!previous || previous.kind !== current.kind || previous.size !== current.size) return current;
  const fresh = new Map(current.results.map((r) => [r.name, r]));
  const kept = new Map(
    previous.results.map((r) => [
      r.name,
      { ...r, command: r.command ?? previous.command, startedAt: r.startedAt ?? previous.startedAt },
    ]),
  );
  const results = names.flatMap((name) => {
    const r = fresh.get(name) ?? kept.get(name);
    return r ? [r] : [];
  });
  return { ...current, results };
}

/** The report in `<kind>-latest.json` under `directory`, if there is a readable one. */
export async function readLatestReport(kind: Report["kind"], directory: string): Promise<Report | undefined> {
  try {
    const report = JSON.parse(await readFile(join(directory, `${kind}-latest.json`), "utf8")) as Report;
    return report.kind === kind && Array.isArray(report.results) ? report : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `<kind>-latest.md` and `<kind>-latest.json` under `directory`; returns their paths. */
export async function writeReport(
  report: Report,
  directory: string,
): Promise<{ markdown: string; json: string }> {
  await mkdir(directory, { recursive: true });
  const markdown = join(directory, `${report.kind}-latest.md`);
  const json = join(directory, `${report.kind}-latest.json`);
  await writeFile(markdown, renderMarkdown(report), "utf8");
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`, "utf8");
  return { markdown, json };
}
