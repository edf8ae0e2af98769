import type { OperationKind } from "./provider.js";

const MAX_REQUEST_LOG = 20_000;

export interface RequestLogEntry {
  seq: number;
  /** Real wall-clock time of arrival. */
  time: string;
  method: string;
  path: string;
  operationName: string;
  kind?: OperationKind;
  status: number;
  durationInMs: number;
  fault?: string;
}

export interface OperationCounter {
  count: number;
  reads: number;
  writes: number;
  statuses: Record<string, number>;
}

/** The request log and per-operation counters tests and benchmarks assert on; control calls are not counted. */
export function createMetrics() {
  let seq = 0;
  let log: RequestLogEntry[] = [];
  let counters = new Map<string, OperationCounter>();
  return {
    record(entry: Omit<RequestLogEntry, "seq">): void {
      seq += 1;
      log.push({ seq, ...entry });
      if (log.length > MAX_REQUEST_LOG) log = log.slice(-MAX_REQUEST_LOG);
      if (entry.operationName.startsWith("_emulator")) return;
      const counter = counters.get(entry.operationName) ?? { count: 0, reads: 0, writes: 0, statuses: {} };
      counter.count += 1;
      if (entry.kind === "read") counter.reads += 1;
      if (entry.kind === "write") counter.writes += 1;
      counter.statuses[String(entry.status)] = (counter.statuses[String(entry.status)] ?? 0) + 1;
      counters.set(entry.operationName, counter);
    },
    requestLog: (): RequestLogEntry[] => [...log],
    clearRequestLog(): void {
      log = [];
    },
    counters: (): Record<string, OperationCounter> =>
      Object.fromEntries([...counters].map(([name, counter]) => [name, structuredClone(counter)])),
    resetCounters(): void {
      counters = new Map();
    },
  };
}
