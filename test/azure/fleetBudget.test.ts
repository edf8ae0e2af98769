import { describe, expect, it } from "vitest";
import { createPacer, type Pacer, type PacedResponse } from "../../src/lib/azure/pacing.js";
import type { SharedBudget } from "../../src/lib/azure/fleetBudget.js";
import {
  anArmWriteBucket,
  anInMemoryBudget,
  aVirtualClock,
  behindASlowTable,
  worstExcess,
} from "./fleetFakes.js";

const sub = "11111111-1111-1111-1111-111111111111";
const writeUrl = `https://management.azure.com/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v/backupInstances/i?api-version=2024-04-01`;
const writes = { burst: 40, perSecond: 10 };

function aResponse(status: number, headers: Record<string, string> = {}): PacedResponse {
  return { status, headers: { get: (name) => headers[name.toLowerCase()] } };
}

/** `count` writes through `pacer` from `callers` concurrent callers; each send's time goes into `times`. */
async function writeMany(
  pacer: Pacer,
  clock: { now(): number },
  count: number,
  callers: number,
  times: number[],
  answer: () => PacedResponse = () => aResponse(200),
): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (left > 0) {
        left -= 1;
        await pacer.pace("PUT", writeUrl, undefined, async () => {
          times.push(clock.now());
          return answer();
        });
      }
    }),
  );
}

/** A repeatable stream of numbers in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe("fleet-wide ARM budget (pacers of separate instances)", () => {
  it("keeps four instances together within ARM's write bucket: burst + rate × window in every window", async () => {
    const clock = aVirtualClock();
    const budget = anInMemoryBudget();
    const pacers = Array.from({ length: 4 }, () =>
      createPacer({ writes, sharedBudget: budget, clock, budgetMinSpendInMs: 0 }),
    );
    const times: number[] = [];

    await Promise.all(pacers.map((p) => writeMany(p, clock, 50, 10, times)));

    expect(times).toHaveLength(200);
    expect(worstExcess(times, writes)).toBeLessThanOrEqual(0);
    // Every instance got a share, and leases kept the Table far below one request per ARM call.
    expect(pacers.map((p) => p.stats().sent)).toEqual([50, 50, 50, 50]);
    expect(budget.requests).toBeLessThanOrEqual(200 / 2);
  });

  it("keeps the bucket busy when a Table round trip is long beside the refill: leases run ahead of the callers", async () => {
    // ARM's write bucket at time scale ×4 (40/s) and a Table answering in 300 ms, as a loaded Azurite does:
    // four instances with two callers each, 600 writes.
    const clock = aVirtualClock();
    const scaled = { burst: 200, perSecond: 40 };
    const budget = anInMemoryBudget();
    const slow = behindASlowTable(budget, clock, 300);
    const pacers = Array.from({ length: 4 }, () =>
      createPacer({ writes: scaled, sharedBudget: slow, clock }),
    );
    const times: number[] = [];

    await Promise.all(pacers.map((p) => writeMany(p, clock, 150, 2, times)));

    // The bucket's own bound is (600 − 200) / 40 = 10 s; waiting a round trip per lease of two took 23 s.
    const boundInMs = ((600 - scaled.burst) / scaled.perSecond) * 1000;
    expect(clock.elapsed()).toBeLessThanOrEqual(1.15 * boundInMs);
    expect(worstExcess(times, scaled)).toBeLessThanOrEqual(0);
    expect(budget.requests).toBeLessThanOrEqual(600 / 5);
  });

  it("serves every caller even when a timer fires a millisecond before the lease it waits for is due", async () => {
    const virtual = aVirtualClock();
    const early = { now: () => virtual.now(), sleep: (ms: number) => virtual.sleep(ms > 1 ? ms - 1 : ms) };
    const budget = anInMemoryBudget();
    const pacers = Array.from({ length: 2 }, () =>
      createPacer({ writes, sharedBudget: budget, clock: early, budgetMinSpendInMs: 0 }),
    );
    const times: number[] = [];

    // Beyond the burst: leases are reserved ahead of the refill and their callers wait for them.
    await Promise.all(pacers.map((p) => writeMany(p, early, 60, 5, times)));

    expect(times).toHaveLength(120);
    expect(worstExcess(times, writes)).toBeLessThanOrEqual(0);
  }, 10_000);

  it("makes every instance wait out a 429's Retry-After, not only the one that got it", async () => {
    const clock = aVirtualClock();
    const budget = anInMemoryBudget();
    const a = createPacer({ writes, sharedBudget: budget, clock, budgetMinSpendInMs: 0 });
    const b = createPacer({ writes, sharedBudget: budget, clock, budgetMinSpendInMs: 0 });
    let throttledAt = 0;
    let answered429 = false;
    let onThrottled = (): void => undefined;
    const throttled = new Promise<void>((resolve) => (onThrottled = resolve));

    const aDone = a.pace("PUT", writeUrl, undefined, async () => {
      if (answered429) return aResponse(200);
      answered429 = true;
      throttledAt = clock.now();
      onThrottled();
      return aResponse(429, { "retry-after": "30" });
    });
    // B writes while A waits out its 429.
    await throttled;
    await new Promise((resolve) => setImmediate(resolve));
    let bSentAt = 0;
    await b.pace("PUT", writeUrl, undefined, async () => {
      bSentAt = clock.now();
      return aResponse(200);
    });
    await aDone;

    expect(a.stats().throttled).toBe(1);
    expect(bSentAt - throttledAt).toBeGreaterThanOrEqual(30_000);
  });

  it("paces each instance at 1/fleetSize of ARM's rate while the shared budget is unreachable, and says so", async () => {
    const clock = aVirtualClock();
    const unreachable: SharedBudget = {
      take: () =>
        Promise.reject(
          Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:10002"), { code: "ECONNREFUSED" }),
        ),
      lower: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:10002")),
    };
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const pacer = createPacer({ writes, sharedBudget: unreachable, clock, fleetSize: 4, logger });
    const times: number[] = [];

    await writeMany(pacer, clock, 30, 5, times);

    // Four such instances together stay within the bucket: each keeps to a quarter of it.
    expect(
      worstExcess(times, { burst: writes.burst / 4, perSecond: writes.perSecond / 4 }),
    ).toBeLessThanOrEqual(0);
    expect(pacer.stats().budgetFallbacks).toBe(30);
    expect(warnings[0]).toBe(
      "The fleet's ARM budget (Storage table) is unreachable: connect ECONNREFUSED 127.0.0.1:10002; pacing at 1/4 of ARM's rates for 10000 ms, then trying it again.",
    );
  });

  it("draws from the shared budget again once it is back", async () => {
    const clock = aVirtualClock();
    const budget = anInMemoryBudget();
    let down = true;
    const flaky: SharedBudget = {
      take: (...args) => (down ? Promise.reject(new Error("Storage down")) : budget.take(...args)),
      lower: (...args) => budget.lower(...args),
    };
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const pacer = createPacer({ writes, sharedBudget: flaky, clock, budgetRetryInMs: 1_000, logger });

    await writeMany(pacer, clock, 3, 1, []);
    down = false;
    await clock.sleep(1_000);
    await writeMany(pacer, clock, 3, 1, []);

    expect(pacer.stats().budgetFallbacks).toBe(3);
    expect(budget.requests).toBeGreaterThan(0);
  });
  it("serves every caller whatever the clock reads from one call to the next and however early timers fire", async () => {
    // A real clock moves between two readings and setTimeout may fire a little early: a lot coming due in
    // between once left callers waiting with nothing scheduled to serve them (a 4-host burst stalled).
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const virtual = aVirtualClock();
      const random = seeded(seed);
      let last = 0;
      const jittery = {
        now: () => (last = Math.max(last, virtual.now() + Math.floor(random() * 3))),
        sleep: (ms: number) => virtual.sleep(Math.max(0, ms - Math.floor(random() * 3))),
      };
      const scaled = { burst: 200, perSecond: 40 };
      const budget = behindASlowTable(anInMemoryBudget(), virtual, 5 + Math.floor(random() * 40));
      const pacers = Array.from({ length: 4 }, () =>
        createPacer({ writes: scaled, sharedBudget: budget, clock: jittery, random }),
      );
      const times: number[] = [];

      const outcome = await Promise.race([
        Promise.all(pacers.map((p) => writeMany(p, jittery, 300, 16, times))).then(() => "done"),
        new Promise((resolve) => setTimeout(() => resolve("stalled"), 5_000)),
      ]);

      expect({ seed, outcome, sent: times.length }).toEqual({ seed, outcome: "done", sent: 1200 });
      expect(virtual.elapsed()).toBeLessThanOrEqual(1.15 * ((1200 - scaled.burst) / scaled.perSecond) * 1000);
    }
  }, 60_000);

  it("keeps its leased tokens when ARM reports the bucket near empty because the others spent theirs", async () => {
    // In a burst ARM's remaining count sits near 0 while every instance holds a lease the fleet paid for;
    // throwing those away on each response left the bucket idle (1.12× the bound) and the row deeper in debt.
    const clock = aVirtualClock();
    const rate = { burst: 200, perSecond: 10 };
    const arm = anArmWriteBucket(clock, rate);
    const budget = anInMemoryBudget();
    const pacers = Array.from({ length: 4 }, () =>
      createPacer({ writes: rate, sharedBudget: budget, clock }),
    );

    await Promise.all(pacers.map((p) => writeMany(p, clock, 200, 16, [], () => arm.answer())));

    expect(arm.throttled).toBe(0);
    expect(clock.elapsed()).toBeLessThanOrEqual(1.06 * ((800 - rate.burst) / rate.perSecond) * 1000);
  });
  it("spends what it leases when callers come back slowly (work between their ARM calls)", async () => {
    // A protection step does Table and read work between its writes: a token leased ahead of such a caller,
    // while the fleet already queues on the row, lapses unspent. Four instances of 24 callers, each busy for
    // a second of the pacer's time after every write (ARM's write bucket at time scale ×4).
    const clock = aVirtualClock();
    const scaled = { burst: 200, perSecond: 40 };
    const budget = behindASlowTable(anInMemoryBudget(), clock, 20);
    const pacers = Array.from({ length: 4 }, () =>
      createPacer({ writes: scaled, sharedBudget: budget, clock }),
    );
    let left = 2000;

    await Promise.all(
      pacers.map((p) =>
        Promise.all(
          Array.from({ length: 24 }, async () => {
            while (left > 0) {
              left -= 1;
              await p.pace("PUT", writeUrl, undefined, async () => aResponse(200));
              await clock.sleep(1_000);
            }
          }),
        ),
      ),
    );

    // Leasing half the recent demand ahead on top of the callers queued took 1.20× the bucket's bound.
    expect(clock.elapsed()).toBeLessThanOrEqual(1.12 * ((2000 - scaled.burst) / scaled.perSecond) * 1000);
  });
});
