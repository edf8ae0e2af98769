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
  /** The caller's clock: the shared row is refilled up to this time. */
  nowInMs: number;
  abortSignal?: AbortSignal;
}

export interface BudgetGrant {
  /** How long from `nowInMs` the holder waits before spending the tokens (0: at once). */
  waitInMs: number;
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

interface Waiter {
  resolve(viaFleet: boolean): void;
  reject(e: unknown): void;
}

/**
 * One process's share of one shared bucket. Callers queue; one lease at a time is asked for, sized to the
 * queue (at most `block`), and handed out in arrival order. A lease is spendable only within `block/rate`
 * of the time the shared bucket granted it (the row's time plus the wait it named): together with the
 * shared capacity of burst − block, the fleet never sends more than burst + rate × window in any window,
 * and a lease held by a process that dies is simply never spent (it costs the fleet at most one block).
 */
export class FleetBucket {
  private tokens = 0;
  private expiresAt = 0;
  private readonly waiters: Waiter[] = [];
  private leasing = false;
  /** Sends must not start before this (a 429's Retry-After, known before the shared row is lowered). */
  private notBefore = 0;
  private pendingLower: Promise<void> | undefined;
  /** The shared row's tokens after our last grant, and when: what the service's remaining count is held against. */
  private lastSeen: { left: number; atInMs: number } | undefined;
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
    if (this.waiters.length === 0 && this.tokens >= 1 && this.options.clock.now() < this.expiresAt) {
      this.tokens -= 1;
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
    this.tokens = 0;
    this.notBefore = Math.max(this.notBefore, now + waitInMs);
    this.lowerShared(-(waitInMs / 1000) * this.options.rate.perSecond);
  }

  /**
   * The service says only `remaining` are left. The lease shrinks to it; the shared row is lowered only when
   * the service reports a block fewer than the fleet believes (someone outside the fleet spends this
   * subscription's budget), so a steady state near empty costs no extra Table writes.
   */
  sync(remaining: number): void {
    this.tokens = Math.min(this.tokens, remaining);
    const seen = this.lastSeen;
    if (!seen) return;
    const now = this.options.clock.now();
    const expected = Math.min(
      this.capacity,
      seen.left + (Math.max(0, now - seen.atInMs) / 1000) * this.options.rate.perSecond,
    );
    if (remaining < expected - this.options.block) this.lowerShared(remaining);
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
      abortSignal: AbortSignal.timeout(this.options.requestTimeoutInMs),
    };
  }

  private handOut(): void {
    const now = this.options.clock.now();
    while (this.waiters.length > 0 && this.tokens >= 1 && now < this.expiresAt) {
      this.tokens -= 1;
      this.waiters.shift()?.resolve(true);
    }
  }

  private async lease(): Promise<void> {
    if (this.leasing) return;
    this.leasing = true;
    const { budget, key, kind, clock, block } = this.options;
    try {
      while (this.waiters.length > 0) {
        this.handOut();
        if (this.waiters.length === 0) break;
        if (this.pendingLower) await this.pendingLower;
        await clock.sleep(this.notBefore - clock.now());
        const wanted = Math.min(block, this.waiters.length);
        const options = this.sharedOptions();
        let grant: BudgetGrant;
        try {
          grant = await budget.take(key, kind, wanted, options);
        } catch (e) {
          this.options.onUnreachable(e);
          for (const w of this.waiters.splice(0)) w.resolve(false);
          break;
        }
        this.lastSeen = { left: grant.left, atInMs: options.nowInMs };
        await clock.sleep(grant.waitInMs);
        const start = clock.now();
        // Spendable until the shared row's time of the grant plus one block's refill, and never less than
        // `minSpendInMs` after it arrived (a slow Table round trip must not waste every lease).
        this.expiresAt = Math.max(
          options.nowInMs + grant.waitInMs + this.leaseInMs,
          start + this.options.minSpendInMs,
        );
        this.tokens = wanted;
        this.handOut();
      }
    } finally {
      this.leasing = false;
    }
    if (this.waiters.length > 0) void this.lease();
  }
}

function abortError(): Error {
  const e = new Error("The operation was aborted.");
  e.name = "AbortError";
  return e;
}
