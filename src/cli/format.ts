import type { SweepSummary } from "../lib/store/sweeps.js";

/** Human output: aligned plain-text tables (no colour codes, so pipes and logs stay clean). */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: ReadonlyArray<string>): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
}

export const lastSegment = (id: string | undefined): string => (id ? (id.split("/").pop() ?? id) : "");

/** A fix under the line it belongs to, its continuation lines aligned after `Fix: `. */
export const indentedFix = (fix: string): string => `  Fix: ${fix.replace(/\n/g, "\n       ")}`;

/** Seconds up to two minutes, then minutes; empty when unknown. */
export const shortDuration = (ms: number | undefined): string =>
  ms === undefined ? "" : ms < 120_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 60_000)}m`;

export function age(iso: string | undefined, now: Date): string {
  if (!iso) return "";
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (seconds < 90) return `${seconds}s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

/** A sweep summary as `--json` prints it: without the store's etag and work units. */
export function summaryForJson(summary: SweepSummary): Omit<SweepSummary, "etag" | "scopeUnits"> {
  const { etag: _etag, scopeUnits: _scopeUnits, ...shown } = summary;
  return shown;
}

export interface Progress {
  update(text: string): void;
  done(): void;
}

/** A spinner on stderr when it is a terminal; silent otherwise (scripts read stdout). */
export function progress(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  let tick = 0;
  let detail = "";
  const timer = setInterval(() => {
    stream.write(`\r\x1b[2K${frames[tick++ % frames.length]} ${label}${detail ? `: ${detail}` : ""}`);
  }, 120);
  return {
    update(text) {
      detail = text;
    },
    done() {
      clearInterval(timer);
      stream.write("\r\x1b[2K");
    },
  };
}
