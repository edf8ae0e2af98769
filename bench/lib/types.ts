/**
 * Shared shapes of benchmarks and drills: each one is a named, self-contained run that returns figures,
 * never assertions. `npm run bench` / `npm run drills` run them at full size and write a report; the test
 * suite runs each once at `tiny` size so none of them rots.
 */

export type RunSize = "tiny" | "full";

/** One figure, measured against a baseline from the same run when there is one. */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** The baseline the value is compared with (same unit), measured or computed in the same run. */
  baseline?: number;
  baselineLabel?: string;
  /** value / baseline, or baseline / value when `higherIsBetter` (a speed-up). */
  ratio?: number;
  /** Target as text, e.g. "≤ 1.25×". */
  target?: string;
  /** Whether the target is met; absent when the metric has no target. */
  met?: boolean;
  note?: string;
}

export interface RunContext {
  size: RunSize;
  /** Progress lines (stderr in the CLI, captured in tests). */
  log(line: string): void;
  abortSignal?: AbortSignal;
}

export type Outcome = "ok" | "failed" | "not available";

export interface RunResult {
  name: string;
  title: string;
  outcome: Outcome;
  /** Why it is not available or what failed. */
  reason?: string;
  metrics: Metric[];
  /** Parameters of the run (sizes, time scale, fault rates). */
  parameters: Record<string, string | number | boolean>;
  /** Extra lines for the report (what was checked, causes of a missed target). */
  notes: string[];
  /** For drills: the invariants checked, each with its verdict. */
  checks?: Check[];
  wallTimeInMs: number;
  /** When and by which command this result was produced (a partial run keeps older sections' own). */
  startedAt?: string;
  command?: string;
}

export interface Check {
  name: string;
  passed: boolean;
  detail?: string;
}

export interface Runnable {
  name: string;
  title: string;
  run(context: RunContext): Promise<Omit<RunResult, "name" | "title" | "wallTimeInMs">>;
}

/** The result of a capability that does not exist yet: reported, never faked. */
export function notAvailable(reason: string): Omit<RunResult, "name" | "title" | "wallTimeInMs"> {
  return { outcome: "not available", reason, metrics: [], parameters: {}, notes: [] };
}

/** A metric compared with its baseline: ratio = value / baseline (or the inverse for speed-ups). */
export function compared(
  metric: Omit<Metric, "ratio" | "met">,
  options: { higherIsBetter?: boolean; atMost?: number; atLeast?: number } = {},
): Metric {
  const { baseline } = metric;
  let ratio: number | undefined;
  if (baseline !== undefined && baseline > 0 && metric.value > 0) {
    ratio = options.higherIsBetter ? baseline / metric.value : metric.value / baseline;
  }
  let met: boolean | undefined;
  if (ratio !== undefined && options.atMost !== undefined) met = ratio <= options.atMost;
  if (ratio !== undefined && options.atLeast !== undefined) met = ratio >= options.atLeast;
  return {
    ...metric,
    ...(ratio === undefined ? {} : { ratio: round(ratio, 3) }),
    ...(met === undefined ? {} : { met }),
  };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
