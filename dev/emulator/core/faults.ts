import type { HttpMethod } from "./provider.js";
import { createRandom, type Random } from "./random.js";

export interface FaultRule {
  /** Operation name to match (case-insensitive, e.g. `Servers_Get`), or `*` (default) for every ARM operation. */
  operation?: string;
  method?: HttpMethod;
  /** Matches when the lower-cased path contains this (lower-cased) text. */
  pathContains?: string;
  /** Extra real-time latency before answering. */
  latencyInMs?: number;
  /** Probabilities in [0, 1]; drawn once per request in this order: timeout, reset, 503, 500. */
  timeoutRate?: number;
  resetRate?: number;
  errorRate503?: number;
  errorRate500?: number;
  /** Stop injecting faults from this rule after this many (latency is not a fault). */
  maxFaults?: number;
}

export interface FaultConfig {
  /** Latency added to every ARM request (real ms). */
  latencyInMs?: number;
  rules?: FaultRule[];
  /** Seed of the fault PRNG; same seed and same request sequence ⇒ same faults. */
  seed?: number;
}

export type FaultKind = "timeout" | "reset" | "503" | "500";

export interface FaultDecision {
  latencyInMs: number;
  fault?: FaultKind;
}

export function createFaultInjector(initial: FaultConfig = {}) {
  let config: FaultConfig = structuredClone(initial);
  let random: Random = createRandom(config.seed);
  let used = new Map<number, number>();
  return {
    get config(): FaultConfig {
      return structuredClone(config);
    },
    configure(next: FaultConfig): void {
      config = structuredClone(next);
      random = createRandom(config.seed);
      used = new Map();
    },
    decide(operationName: string, method: HttpMethod, lowerPath: string): FaultDecision {
      let latencyInMs = config.latencyInMs ?? 0;
      let fault: FaultKind | undefined;
      (config.rules ?? []).forEach((rule, index) => {
        const operation = rule.operation ?? "*";
        if (operation !== "*" && operation.toLowerCase() !== operationName.toLowerCase()) return;
        if (rule.method && rule.method !== method) return;
        if (rule.pathContains && !lowerPath.includes(rule.pathContains.toLowerCase())) return;
        latencyInMs += rule.latencyInMs ?? 0;
        if (fault) return;
        if (rule.maxFaults !== undefined && (used.get(index) ?? 0) >= rule.maxFaults) return;
        const draw = random.next();
        const thresholds: Array<[FaultKind, number]> = [
          ["timeout", rule.timeoutRate ?? 0],
          ["reset", rule.resetRate ?? 0],
          ["503", rule.errorRate503 ?? 0],
          ["500", rule.errorRate500 ?? 0],
        ];
        let cumulative = 0;
        for (const [kind, rate] of thresholds) {
          cumulative += rate;
          if (draw < cumulative) {
            fault = kind;
            used.set(index, (used.get(index) ?? 0) + 1);
            break;
          }
        }
      });
      return fault ? { latencyInMs, fault } : { latencyInMs };
    },
  };
}

export type FaultInjector = ReturnType<typeof createFaultInjector>;
