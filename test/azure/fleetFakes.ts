import type { PacedResponse, PacingClock } from "../../src/lib/azure/pacing.js";
import type { BudgetKind, SharedBudget } from "../../src/lib/azure/fleetBudget.js";
import { lowerRow, reserveFromRow, type BucketRow } from "../../src/lib/domain/tokenBucket.js";

/**
 * Virtual time shared by several pacers: sleeps queue on a timeline and, once the process is otherwise idle
 * (a setImmediate later), the clock jumps to the earliest deadline.
 */
export function aVirtualClock(): PacingClock & { elapsed(): number } {
  const start = 1_700_000_000_000;
  let t = start;
  const timers: Array<{ at: number; resolve: () => void }> = [];
  let scheduled = false;
  const advance = (): void => {
    scheduled = false;
    timers.sort((a, b) => a.at - b.at);
    const next = timers.shift();
    if (!next) return;
    t = Math.max(t, next.at);
    next.resolve();
    if (timers.length > 0) schedule();
  };
  const schedule = (): void => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(advance);
    }
  };
  return {
    now: () => t,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        timers.push({ at: t + ms, resolve });
        schedule();
      }),
    elapsed: () => t - start,
  };
}

/** The shared buckets in memory (the armBudget table's arithmetic without Storage); counts its requests. */
export function anInMemoryBudget(): SharedBudget & { requests: number } {
  const rows = new Map<string, BucketRow>();
  const budget = {
    requests: 0,
    async take(key: string, kind: BudgetKind, wanted: number, o: Parameters<SharedBudget["take"]>[3]) {
      await Promise.resolve();
      budget.requests += 1;
      const at = o.now?.() ?? o.nowInMs;
      const next = reserveFromRow(rows.get(`${key}/${kind}`), wanted, o, at);
      rows.set(`${key}/${kind}`, next.row);
      return { waitInMs: next.waitInMs, left: next.row.tokens, atInMs: at };
    },
    async lower(key: string, kind: BudgetKind, tokens: number, o: Parameters<SharedBudget["lower"]>[3]) {
      await Promise.resolve();
      budget.requests += 1;
      const next = lowerRow(rows.get(`${key}/${kind}`), tokens, o, o.now?.() ?? o.nowInMs);
      if (next) rows.set(`${key}/${kind}`, next);
    },
  };
  return budget;
}

/**
 * The most sends any window admitted beyond what ARM's bucket allows (burst + rate × window): 0 or less
 * when the fleet kept within the bucket. `times` are the sends' times in ms.
 */
export function worstExcess(times: number[], rate: { burst: number; perSecond: number }): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = -Infinity;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i; j < sorted.length; j++) {
      const window = (sorted[j]! - sorted[i]!) / 1000;
      worst = Math.max(worst, j - i + 1 - (rate.burst + rate.perSecond * window));
    }
  }
  return worst;
}

/** `budget` behind a Table that takes `roundTripInMs` of `clock`'s time to answer each request (half to read the row, half to write it). */
export function behindASlowTable(
  budget: SharedBudget,
  clock: Pick<PacingClock, "sleep">,
  roundTripInMs: number,
): SharedBudget {
  return {
    take: async (...args) => {
      await clock.sleep(roundTripInMs / 2);
      const grant = await budget.take(...args);
      await clock.sleep(roundTripInMs / 2);
      return grant;
    },
    lower: async (...args) => {
      await clock.sleep(roundTripInMs);
      return budget.lower(...args);
    },
  };
}

/**
 * ARM's write bucket for one subscription on `clock`: answers 201 with the remaining count as ARM does
 * (`x-ms-ratelimit-remaining-subscription-writes`), or 429 with Retry-After once it is empty.
 */
export function anArmWriteBucket(
  clock: Pick<PacingClock, "now">,
  rate: { burst: number; perSecond: number },
): { answer(): PacedResponse; readonly throttled: number } {
  let tokens = rate.burst;
  let at = clock.now();
  let throttled = 0;
  const refill = (): void => {
    const now = clock.now();
    tokens = Math.min(rate.burst, tokens + ((now - at) / 1000) * rate.perSecond);
    at = now;
  };
  const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name.toLowerCase()] });
  return {
    answer() {
      refill();
      if (tokens < 1) {
        throttled += 1;
        return { status: 429, headers: headers({ "retry-after": "1" }) };
      }
      tokens -= 1;
      return {
        status: 201,
        headers: headers({ "x-ms-ratelimit-remaining-subscription-writes": String(Math.floor(tokens)) }),
      };
    },
    get throttled() {
      return throttled;
    },
  };
}
