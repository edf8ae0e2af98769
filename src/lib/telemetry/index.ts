/**
 * The telemetry port: counters, histograms, observable gauges and spans under the metric names below.
 * Capabilities call {@link telemetry} and never OpenTelemetry; the composition root installs an
 * implementation with {@link useTelemetry} (OpenTelemetry when configured, see ./start.ts), and until then
 * every call is a no-op. Like OpenTelemetry's own API the active implementation is process-wide: one app
 * per process, and a test installs an in-memory one.
 */

/**
 * Attribute values a team filters by (Azure Monitor puts them in `customDimensions`). Resource ids
 * (`server`, `vault`) are lower case, as ARM compares them.
 */
export type Attributes = Readonly<Record<string, string | number | boolean>>;

/**
 * The instruments the app emits: name, kind, unit, the attributes a team filters by, and what it means
 * (docs/operations.md lists them; infra/app/monitor.bicep's queries are checked against this list).
 */
export const Metrics = {
  servers: {
    name: "pgflex.servers",
    attributes: ["subscription", "region", "vault", "policy", "state", "sweep_class"],
    kind: "gauge",
    unit: "{server}",
    description:
      "Servers in the latest sweep by subscription, region, vault, policy, protection state and class.",
  },
  compliancePercent: {
    name: "pgflex.compliance.percent",
    attributes: ["scope"],
    kind: "gauge",
    unit: "%",
    description: "Compliance percentage of the latest sweep.",
  },
  backupJobs: {
    name: "pgflex.backup.jobs",
    attributes: ["outcome", "origin", "subscription", "vault", "policy"],
    kind: "counter",
    unit: "{job}",
    description: "Backup jobs that reached a terminal status, once per job.",
  },
  backupJobDuration: {
    name: "pgflex.backup.job.duration",
    attributes: ["outcome", "origin"],
    kind: "histogram",
    unit: "s",
    description: "Duration of the backup jobs that reached a terminal status.",
  },
  lastSuccessAge: {
    name: "pgflex.backup.last_success.age",
    attributes: ["server", "subscription", "region", "vault", "policy"],
    kind: "gauge",
    unit: "h",
    description: "Age of each protected server's last successful backup.",
  },
  protectionDuration: {
    name: "pgflex.protection.duration",
    attributes: ["subscription", "region", "vault", "policy"],
    kind: "histogram",
    unit: "s",
    description: "Time from the first event of a protection request to Protected.",
  },
  armRequests: {
    name: "pgflex.arm.requests",
    attributes: ["operation", "status_class", "throttled"],
    kind: "counter",
    unit: "{request}",
    description: "ARM requests sent, by operation, status class and whether ARM throttled them (429).",
  },
  armRetries: {
    name: "pgflex.arm.retries",
    attributes: ["operation", "reason"],
    kind: "counter",
    unit: "{retry}",
    description: "ARM requests sent again, by operation and reason (429, 5xx, reset).",
  },
  restoreJobs: {
    name: "pgflex.restore.jobs",
    attributes: ["outcome"],
    kind: "counter",
    unit: "{job}",
    description: "Restores that reached a terminal status, by outcome.",
  },
  restoreDuration: {
    name: "pgflex.restore.duration",
    attributes: ["outcome"],
    kind: "histogram",
    unit: "s",
    description: "Time from a restore's start to its terminal status.",
  },
  restoreTests: {
    name: "pgflex.restore_tests",
    attributes: ["outcome"],
    kind: "counter",
    unit: "{test}",
    description: "Restore tests that reached a verdict, by outcome (Passed, Failed, Suspicious).",
  },
} as const;

/** The protection steps traced as spans `protection.<step>` (one per ARM step of a protection). */
export const ProtectionSpanSteps = ["read_server", "validate", "create_instance", "configure_wait"] as const;
export type ProtectionSpanStep = (typeof ProtectionSpanSteps)[number];

type MetricOf<K extends string> = Extract<(typeof Metrics)[keyof typeof Metrics], { kind: K }>["name"];
export type CounterName = MetricOf<"counter">;
export type HistogramName = MetricOf<"histogram">;
export type GaugeName = MetricOf<"gauge">;

/** One series of an observable gauge; a function value is read at each collection (an age keeps growing). */
export interface GaugePoint {
  readonly attributes: Attributes;
  readonly value: number | (() => number);
}

export interface Telemetry {
  count(name: CounterName, attributes: Attributes, value?: number): void;
  record(name: HistogramName, value: number, attributes: Attributes): void;
  /**
   * Sets what a gauge reports from now on. `key` undefined: `points` replace every series (a sweep's
   * figures); otherwise only the series under `key` is replaced (one server's age), or removed when empty.
   */
  observe(name: GaugeName, points: readonly GaugePoint[], key?: string): void;
  /** Runs `fn` inside a span named `name`; the span records an error `fn` throws, and the error is rethrown. */
  span<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T>;
}

export const noTelemetry: Telemetry = {
  count() {},
  record() {},
  observe() {},
  span: (_name, _attributes, fn) => fn(),
};

let active: Telemetry = noTelemetry;

/** The process's telemetry (a no-op until the composition root installs one). */
export function telemetry(): Telemetry {
  return active;
}

/** Installs `t` for the whole process; the previous one is returned (tests restore it). */
export function useTelemetry(t: Telemetry): Telemetry {
  const previous = active;
  active = t;
  return previous;
}

/** Seconds between two ISO times (or epoch ms), never negative; undefined when either is unreadable. */
export function secondsBetween(from: string | number, to: string | number): number | undefined {
  const a = typeof from === "number" ? from : Date.parse(from);
  const b = typeof to === "number" ? to : Date.parse(to);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  return Math.max(0, (b - a) / 1000);
}
