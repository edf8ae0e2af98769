import type { AbortSignalLike } from "@azure/abort-controller";

/**
 * The fleet-wide ARM budget: every Function instance draws its ARM calls from one token bucket per
 * subscription and kind, kept outside the process (the `armBudget` table, `store/armBudget.ts`). This file
 * holds the port the pacer talks to and the per-process side: a {@link FleetBucket} leases tokens from the
 * shared bucket in blocks and spends them locally, so Table round trips stay far below ARM calls. See
 * docs/architecture.md, "The fleet's ARM budget".
 */

export type BudgetKind = "reads" | "writes";

export interface SharedBudgetOptions {
  /** Most tokens the shared bucket holds (ARM's burst less one lease: see {@link fleetCapacity}). */
  capacity: number;
  perSecond: number;
  /** The caller's clock when it asked: the shared row is refilled up to this time unless `now` is given. */
  nowInMs: number;
  /**
   * The caller's clock, read once the row is (re-)read: the row is refilled up to that time instead, so a
   * slow read or a lost race does not use up the lease's life before it arrives.
   */
  now?: () => number;
  abortSignal?: AbortSignal;
}

export interface BudgetGrant {
  /** How long from `atInMs` the holder waits before spending the tokens (0: at once). */
  waitInMs: number;
  /** The time the grant is as of (the row's time once refilled); absent: `nowInMs`. */
  atInMs?: number;
  /** Tokens left in the shared bucket once the grant is taken (negative: reserved ahead of the refill). */
  left: number;
}

/** The port to the shared buckets; `store/armBudget.ts` implements it over a Storage table. */
export interface SharedBudget {
  /** Reserves `wanted` tokens of `key`'s `kind` bucket; they may be spent after `waitInMs`. */
  take(key: string, kind: BudgetKind, wanted: number, options: SharedBudgetOptions): Promise<BudgetGrant>;
  /** The bucket holds at most `tokens` from now on (a 429's drain: negative; the service's remaining count). */
  lower(key: string, kind: BudgetKind, tokens: number, options: SharedBudgetOptions): Promise<void>;
}

export interface FleetRate {
  burst: number;
  perSecond: number;
}

/** The shared bucket's capacity: ARM's burst less one lease, so that a lease spent late never overshoots. */
export function fleetCapacity(rate: FleetRate, block: number): number {
  return Math.max(1, rate.burst - block);
}

interface FleetClock {
  now(): number;
  sleep(ms: number, abortSignal?: AbortSignalLike): Promise<void>;
}

export interface FleetBucketOptions {
  budget: SharedBudget;
  key: string;
  kind: BudgetKind;
  rate: FleetRate;
  /** Most tokens leased at once. */
  block: number;
  clock: FleetClock;
  /** Called when the shared budget cannot be reached; the caller then paces from its fallback bucket. */
  onUnreachable(error: unknown): void;
  /** Bounds one Table request (real time). */
  requestTimeoutInMs: number;
  /** Least time a lease may be spent in after it arrives, however slow the Table was (real time). */
  minSpendInMs: number;
}

/** Lease lives after a lapse during which no token is leased ahead while the fleet queues on the row. */
const LAPSE_MEMORY_IN_LEASES = 10;

interface Waiter {
  resolve(viaFleet: boolean): void;
  reject(e: unknown): void;
}

/** Tokens of one lease: spendable from `from` (the shared row's wait) until `expiresAt`. */
interface Lot {
  tokens: number;
  from: number;
  expiresAt: number;
}

/**
 * One process's share of one shared bucket. Leases are sized to the demand (the callers queued plus what
 * this process asked for in the last lease life, over a horizon of two Table round trips, at most `block`)
 * and the next one is asked for before the stock runs out, so a caller waits for the Table only when the
 * demand jumps: a round trip is not on every ARM call's path. A lease is spendable only within `block/rate`
 * of the time the shared bucket granted it (the row's time plus the wait it named): together with the
 * shared capacity of burst − block, the fleet never sends more than burst + rate × window in any window,
 * and a lease held by a process that dies is simply never spent (it costs the fleet at most one block).
 */
export class FleetBucket {
  private lots: Lot[] = [];
  private readonly waiters: Waiter[] = [];
  private leasing = false;
  /** Sends must not start before this (a 429's Retry-After, known before the shared row is lowered). */
  private notBefore = 0;
  private pendingLower: Promise<void> | undefined;
  /** The shared row's tokens after our last grant, and when: what the service's remaining count is held against. */
  private lastSeen: { left: number; atInMs: number } | undefined;
  /** When this process's recent callers asked (within one lease life): the demand leases are sized to. */
  private readonly asked: number[] = [];
  /** A Table round trip, smoothed (ms of the pacer's clock). */
  private roundTripInMs = 0;
  /** The last lease's size: doubled while callers still wait for the Table, forgotten when tokens lapse unspent. */
  private lastLease = 0;
  /** When leased tokens last lapsed unspent (the pacer's clock). */
  private lapsedAt = Number.NEGATIVE_INFINITY;
  /** When a wake for a lot reserved ahead of the refill is due (0: none). */
  private wakeAt = 0;
  private readonly capacity: number;
  private readonly leaseInMs: number;

  constructor(private readonly options: FleetBucketOptions) {
    this.capacity = fleetCapacity(options.rate, options.block);
    this.leaseInMs = (options.block / options.rate.perSecond) * 1000;
  }

  /**
   * Resolves when the caller may send: true when it holds a leased token, false when the shared budget was
   * unreachable and the caller must pace itself from its fallback bucket.
   */
  acquire(abortSignal?: AbortSignalLike): Promise<boolean> {
    if (abortSignal?.aborted) return Promise.reject(abortError());
    const now = this.options.clock.now();
    this.asked.push(now);
    if (this.waiters.length === 0 && this.takeToken(now)) {
      void this.lease(); // the next lease, before this one runs out
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (viaFleet) => {
          abortSignal?.removeEventListener("abort", onAbort);
          resolve(viaFleet);
        },
        reject,
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError());
      };
      abortSignal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
      void this.lease();
    });
  }

  /** After a 429: nothing is sent for `waitInMs`, here at once and fleet-wide once the shared row is lowered. */
  drain(waitInMs: number): void {
    const now = this.options.clock.now();
    this.lots = [];
    this.notBefore = Math.max(this.notBefore, now + waitInMs);
    this.lowerShared(-(waitInMs / 1000) * this.options.rate.perSecond);
  }

  /**
   * The service says only `remaining` are left. Within the fleet that is expected: the others spend what they
   * leased, and a lot reserved ahead of the refill is paid by tokens the service has not counted yet. Only
   * when it reports a block fewer than the fleet believes (someone outside the fleet spends this
   * subscription's budget) does the stock spendable now shrink to it and the shared row go down, so a
   * steady state near empty neither throws leased tokens away nor costs Table writes.
   */
  sync(remaining: number): void {
    const seen = this.lastSeen;
    if (!seen) return;
    const now = this.options.clock.now();
    const expected = Math.min(
      this.capacity,
      seen.left + (Math.max(0, now - seen.atInMs) / 1000) * this.options.rate.perSecond,
    );
    if (remaining >= expected - this.options.block) return;
    let keep = Math.max(0, remaining);
    for (const lot of this.lots.filter((l) => l.from <= now)) {
      lot.tokens = Math.min(lot.tokens, keep);
      keep -= lot.tokens;
    }
    this.lowerShared(remaining);
  }

  private lowerShared(tokens: number): void {
    const previous = this.pendingLower ?? Promise.resolve();
    const { budget, key, kind, clock } = this.options;
    this.lastSeen = { left: tokens, atInMs: clock.now() };
    this.pendingLower = previous
      .then(() => budget.lower(key, kind, tokens, this.sharedOptions()))
      .catch((e: unknown) => this.options.onUnreachable(e));
  }

  private sharedOptions(): SharedBudgetOptions {
    return {
      capacity: this.capacity,
      perSecond: this.options.rate.perSecond,
      nowInMs: this.options.clock.now(),
      now: () => this.options.clock.now(),
      abortSignal: AbortSignal.timeout(this.options.requestTimeoutInMs),
    };
  }

  /** Drops spent and lapsed lots; the tokens held (spendable now or once their wait is over). */
  private stock(now: number): number {
    // Tokens lapsed unspent: the leases outgrew the demand, so they are sized to it again.
    if (this.lots.some((l) => l.expiresAt <= now && l.tokens >= 1)) {
      this.lastLease = 0;
      this.lapsedAt = now;
    }
    this.lots = this.lots.filter((l) => l.expiresAt > now && l.tokens >= 1);
    return this.lots.reduce((n, l) => n + l.tokens, 0);
  }

  private takeToken(now: number): boolean {
    this.stock(now);
    const lot = this.lots.find((l) => l.from <= now && l.tokens >= 1);
    if (!lot) return false;
    lot.tokens -= 1;
    return true;
  }

  private handOut(now: number): void {
    while (this.waiters.length > 0 && this.takeToken(now)) this.waiters.shift()?.resolve(true);
  }

  /**
   * Tokens to lease now (0: none). The demand is what callers asked in the last lease life; the stock aimed
   * at covers it over two round trips (at least half a lease life, at most one), on top of the callers
   * queued. With nobody queued a lease is asked for only once the stock is down to half of that.
   */
  private wanted(now: number): number {
    while (this.asked.length > 0 && (this.asked[0] ?? now) <= now - this.leaseInMs) this.asked.shift();
    const horizon = Math.min(this.leaseInMs, Math.max(2 * this.roundTripInMs, this.leaseInMs / 2));
    const ahead = Math.ceil((this.asked.length / this.leaseInMs) * horizon);
    const stock = this.stock(now);
    if (this.waiters.length === 0 && stock > ahead / 2) return 0;
    // The fleet queues on the row (our last grant left it in debt): the wait covers the Table round trip, and
    // half the demand leased ahead keeps callers that come straight back off the Table's path. Callers that
    // work between their ARM calls (a protection step) come back after the lot lapsed, so once tokens
    // lapsed unspent only what callers wait for is leased, for a while.
    if ((this.lastSeen?.left ?? 0) < 0) {
      const extra = now - this.lapsedAt > LAPSE_MEMORY_IN_LEASES * this.leaseInMs ? Math.ceil(ahead / 2) : 0;
      return Math.min(this.options.block, this.waiters.length + extra - stock);
    }
    const want = this.waiters.length + ahead - stock;
    // Callers wait for the Table: the demand outgrew the leases, so the next one is at least twice the last.
    const grown = this.waiters.length > stock ? 2 * this.lastLease : 0;
    return Math.min(this.options.block, Math.max(want, grown));
  }

  private async lease(): Promise<void> {
    if (this.leasing) return;
    this.leasing = true;
    const { budget, key, kind, clock } = this.options;
    try {
      for (;;) {
        // One reading of the clock for both: a lot coming due between them would be counted as stock yet
        // not handed out, and its callers left waiting.
        const now = clock.now();
        this.handOut(now);
        if (this.wanted(now) < 1) break;
        if (this.pendingLower) await this.pendingLower;
        await clock.sleep(this.notBefore - clock.now());
        const wanted = this.wanted(clock.now());
        if (wanted < 1) continue;
        const options = this.sharedOptions();
        let grant: BudgetGrant;
        try {
          grant = await budget.take(key, kind, wanted, options);
        } catch (e) {
          this.options.onUnreachable(e);
          for (const w of this.waiters.splice(0)) w.resolve(false);
          break;
        }
        const arrived = clock.now();
        this.roundTripInMs = 0.7 * this.roundTripInMs + 0.3 * Math.max(0, arrived - options.nowInMs);
        const grantedAt = grant.atInMs ?? options.nowInMs;
        this.lastSeen = { left: grant.left, atInMs: grantedAt };
        // Spendable from the shared row's time of the grant plus its wait, until one block's refill later, and
        // never less than `minSpendInMs` after it arrived (a slow Table round trip must not waste every lease).
        const from = grantedAt + grant.waitInMs;
        this.lastLease = wanted;
        this.lots.push({
          tokens: wanted,
          from,
          expiresAt: Math.max(from + this.leaseInMs, Math.max(from, arrived) + this.options.minSpendInMs),
        });
      }
    } finally {
      this.leasing = false;
    }
    this.wakeForPendingLots();
  }

  /**
   * After a lease round: hand out what came due since it looked, then wake when the next lot reserved ahead
   * of the refill does, or lease again when none is left. Whatever the clock reads from one call to the next
   * and however early a timer fires, a caller is never left waiting with nothing scheduled to serve it.
   */
  private wakeForPendingLots(): void {
    const { clock } = this.options;
    const now = clock.now();
    this.handOut(now);
    if (this.waiters.length === 0) return;
    // Callers still wait, so every lot left is due later (handOut spent those due now).
    const next = Math.min(...this.lots.map((l) => l.from));
    if (!Number.isFinite(next)) {
      void this.lease();
      return;
    }
    if (this.wakeAt > now && this.wakeAt <= next) return; // an earlier wake will look again
    this.wakeAt = next;
    void clock.sleep(Math.max(1, next - now)).then(() => {
      if (this.wakeAt === next) this.wakeAt = 0;
      void this.lease();
    });
  }
}

function abortError(): Error {
  const e = new Error("The operation was aborted.");
  e.name = "AbortError";
  return e;
}
