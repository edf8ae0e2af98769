import type {
  PipelinePolicy,
  PipelineRequest,
  PipelineResponse,
  SendRequest,
} from "@azure/core-rest-pipeline";
import type { AbortSignalLike } from "@azure/abort-controller";
import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import { Metrics, telemetry } from "../telemetry/index.js";
import { FleetBucket, type BudgetKind, type SharedBudget } from "./fleetBudget.js";

/**
 * Client-side pacing for ARM. ARM throttles each subscription (per region of the ARM instance) with token
 * buckets — reads 250 burst refilled at 25/s, writes 200 burst refilled at 10/s — and answers 429 with
 * `Retry-After` when a bucket is empty. Hitting 429s costs a round trip and, worse, a penalty wait, so this
 * policy keeps a local copy of the buckets and waits *before* sending. The `x-ms-ratelimit-remaining-*`
 * headers re-sync the local bucket when other clients share the subscription.
 *
 * One policy instance is shared by every ARM client of the process (see `clients.ts`), so all of them draw
 * from the same local buckets. It also owns retries: give the SDK clients `retryOptions: { maxRetries: 0 }`.
 *
 * With a {@link SharedBudget} (the app's default, `PGFLEX_ARM_BUDGET=shared`) the buckets are the fleet's:
 * every instance leases tokens in blocks from one row per subscription and kind (see `fleetBudget.ts`), and a
 * 429 drains that row so every instance backs off. When the shared budget cannot be reached the pacer falls
 * back to local buckets at 1/`fleetSize` of ARM's rates for `budgetRetryInMs`, then tries the table again.
 */

export const pacingPolicyName = "pgflexArmPacing";

export interface BucketRate {
  /** Tokens available at once. */
  burst: number;
  /** Tokens added per second. */
  perSecond: number;
}

export interface PacingClock {
  now(): number;
  sleep(ms: number, abortSignal?: AbortSignalLike): Promise<void>;
}

export interface PacingOptions {
  /** Default: ARM's read bucket, 250 burst + 25/s. */
  reads?: BucketRate;
  /** Default: ARM's write bucket, 200 burst + 10/s. */
  writes?: BucketRate;
  /** How many 429s a request may get before the 429 is returned to the caller. Default 6. */
  maxThrottleRetries?: number;
  /** Retries of 5xx/connection failures for idempotent requests. Default 3. */
  maxTransientRetries?: number;
  /** First backoff for transient failures, doubled each time with jitter. Default 1000. */
  retryDelayInMs?: number;
  /** Cap on any single wait (backoff or Retry-After). Default 60000. */
  maxRetryDelayInMs?: number;
  /** Used when a 429 carries no Retry-After. Default 5000. */
  defaultRetryAfterInMs?: number;
  /** Scales waits derived from service headers (Retry-After) for time-scaled tests; local buckets use the rates. Default 1. */
  retryAfterScale?: number;
  /** The fleet's shared buckets; absent: this process's own buckets (one instance, the CLI). */
  sharedBudget?: SharedBudget;
  /**
   * Most tokens leased from the shared budget at once. Default reads 25, writes 10 at ARM's rates; at faster
   * (time-scaled) rates a second's refill, at most half the burst.
   */
  budgetBlock?: { reads: number; writes: number };
  /** Instances that may run at once (infra's maximumInstanceCount): the fallback's share. Default 40. */
  fleetSize?: number;
  /** How long to pace from the fallback buckets before trying the shared budget again. Default 10000. */
  budgetRetryInMs?: number;
  /** Bound on one shared-budget request. Default 5000. */
  budgetTimeoutInMs?: number;
  /**
   * Least time a lease stays spendable after it arrives, however slow the Table was. Default 5; 0 keeps the
   * fleet strictly within burst + rate × window (tests); above 0 trades a few tokens for progress when the
   * time scale makes a lease shorter than a Table round trip.
   */
  budgetMinSpendInMs?: number;
  clock?: PacingClock;
  /** For jitter; injectable so tests are deterministic. */
  random?: () => number;
  logger?: Logger;
}

export interface PacingStats {
  /** Requests handed to the network (including retries). */
  sent: number;
  throttled: number;
  transientRetries: number;
  /** Total time requests waited for a token or a retry. */
  waitedInMs: number;
  /** Requests paced from the fallback buckets because the shared budget was unreachable. */
  budgetFallbacks: number;
}

export interface PacingPolicy extends PipelinePolicy {
  stats(): PacingStats;
}

export const systemClock: PacingClock = {
  now: () => Date.now(),
  sleep: (ms, abortSignal) =>
    new Promise((resolve, reject) => {
      if (abortSignal?.aborted) {
        reject(abortError());
        return;
      }
      if (ms <= 0) {
        resolve();
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortError());
      };
      const timer = setTimeout(() => {
        abortSignal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      abortSignal?.addEventListener("abort", onAbort, { once: true });
    }),
};

function abortError(): Error {
  const e = new Error("The operation was aborted.");
  e.name = "AbortError";
  return e;
}

/**
 * A lease of `base` tokens, or a second's refill when the rate is time-scaled (a lease must outlive a Table
 * round trip, which the time scale does not shorten), and never over half the burst.
 */
function defaultBlock(rate: BucketRate, base: number): number {
  return Math.max(1, Math.min(Math.floor(rate.burst / 2), Math.max(base, Math.ceil(rate.perSecond))));
}

/**
 * A token bucket that hands out reservations: a caller takes a token even when none is left (the count goes
 * negative) and waits until the refill covers it. Concurrent callers therefore queue in arrival order
 * without a lock, and the long-run rate never exceeds `perSecond`.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly rate: BucketRate,
    private readonly clock: Pick<PacingClock, "now">,
  ) {
    this.tokens = rate.burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.rate.burst, this.tokens + elapsed * this.rate.perSecond);
  }

  /** Takes one token; returns how long the caller must wait before sending. */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate.perSecond) * 1000);
  }

  /** The service says only `remaining` are left: never believe we have more. */
  sync(remaining: number): void {
    this.refill();
    if (remaining < this.tokens) this.tokens = remaining;
  }

  /** After a 429: nothing is left until `waitInMs` from now. */
  drainFor(waitInMs: number): void {
    this.refill();
    this.tokens = Math.min(this.tokens, -(waitInMs / 1000) * this.rate.perSecond);
  }

  available(): number {
    this.refill();
    return this.tokens;
  }
}

const idempotentMethods = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
/** Errors raised before a byte of the request left the machine: safe to retry even for POST. */
const notSentCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const connectionCodes = new Set([
  ...notSentCodes,
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ECONNABORTED",
  "REQUEST_SEND_ERROR",
]);
const transientStatuses = new Set([408, 500, 502, 503, 504]);

/** Subscription the request is charged to; requests outside a subscription share one bucket pair. */
export function subscriptionOf(url: string): string {
  const m = /\/subscriptions\/([^/?#]+)/i.exec(url);
  return m?.[1]?.toLowerCase() ?? "(tenant)";
}

/** Parses Retry-After (seconds or HTTP date) and the millisecond variants; undefined when absent. */
export function retryAfterInMs(
  headers: { get(name: string): string | undefined },
  now: number,
): number | undefined {
  const ms = headers.get("retry-after-ms") ?? headers.get("x-ms-retry-after-ms");
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const ra = headers.get("retry-after");
  if (ra === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Number(ra) * 1000;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What the pacer needs of a response, whichever HTTP stack produced it. */
export interface PacedResponse {
  status: number;
  headers: { get(name: string): string | undefined | null };
}

/** The transport-neutral core: the pipeline policy and the ms-rest-js adapter (Resource Graph) both use it. */
export interface Pacer {
  pace<R extends PacedResponse>(
    method: string,
    url: string,
    abortSignal: AbortSignalLike | undefined,
    send: () => Promise<R>,
  ): Promise<R>;
  stats(): PacingStats;
  /** From now on, draw from the fleet's shared buckets (the composition root calls this once Storage is up). */
  useSharedBudget(budget: SharedBudget): void;
}

export function createPacer(options: PacingOptions = {}): Pacer {
  const reads = options.reads ?? { burst: 250, perSecond: 25 };
  const writes = options.writes ?? { burst: 200, perSecond: 10 };
  const maxThrottleRetries = options.maxThrottleRetries ?? 6;
  const maxTransientRetries = options.maxTransientRetries ?? 3;
  const retryDelayInMs = options.retryDelayInMs ?? 1000;
  const maxRetryDelayInMs = options.maxRetryDelayInMs ?? 60_000;
  const defaultRetryAfterInMs = options.defaultRetryAfterInMs ?? 5000;
  const retryAfterScale = options.retryAfterScale ?? 1;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;
  const buckets = new Map<string, { reads: TokenBucket; writes: TokenBucket }>();
  const stats: PacingStats = {
    sent: 0,
    throttled: 0,
    transientRetries: 0,
    waitedInMs: 0,
    budgetFallbacks: 0,
  };
  const block = options.budgetBlock ?? { reads: defaultBlock(reads, 20), writes: defaultBlock(writes, 10) };
  const fleetSize = options.fleetSize ?? 40;
  const budgetRetryInMs = options.budgetRetryInMs ?? 10_000;
  const budgetTimeoutInMs = options.budgetTimeoutInMs ?? 5_000;
  let sharedBudget = options.sharedBudget;
  /** Until when the shared budget is skipped after a failure (real clock of the pacer). */
  let budgetDownUntil = 0;
  const fleets = new Map<string, FleetBucket>();
  const fallbacks = new Map<string, TokenBucket>();

  function fleetFor(subscription: string, kind: BudgetKind): FleetBucket | undefined {
    if (!sharedBudget || clock.now() < budgetDownUntil) return undefined;
    const id = `${subscription}/${kind}`;
    let f = fleets.get(id);
    if (!f) {
      f = new FleetBucket({
        budget: sharedBudget,
        key: subscription,
        kind,
        rate: kind === "reads" ? reads : writes,
        block: block[kind],
        clock,
        requestTimeoutInMs: budgetTimeoutInMs,
        minSpendInMs: options.budgetMinSpendInMs ?? 5,
        onUnreachable: (e) => {
          if (clock.now() >= budgetDownUntil) {
            logger.warn(
              `The fleet's ARM budget (Storage table) is unreachable: ${String((e as Error | undefined)?.message ?? e)}; ` +
                `pacing at 1/${fleetSize} of ARM's rates for ${budgetRetryInMs} ms, then trying it again.`,
            );
          }
          budgetDownUntil = clock.now() + budgetRetryInMs;
        },
      });
      fleets.set(id, f);
    }
    return f;
  }

  /** While the shared budget is down: this process's 1/fleetSize share of ARM's bucket, so the fleet stays within it. */
  function fallbackFor(subscription: string, kind: BudgetKind): TokenBucket {
    const id = `${subscription}/${kind}`;
    let b = fallbacks.get(id);
    if (!b) {
      const rate = kind === "reads" ? reads : writes;
      b = new TokenBucket(
        { burst: Math.max(1, Math.floor(rate.burst / fleetSize)), perSecond: rate.perSecond / fleetSize },
        clock,
      );
      fallbacks.set(id, b);
    }
    return b;
  }

  /** Waits until a request to `subscription` may be sent: a leased fleet token, else a local one. */
  async function acquire(
    subscription: string,
    kind: BudgetKind,
    local: TokenBucket,
    signal: AbortSignalLike | undefined,
  ): Promise<void> {
    const fleet = fleetFor(subscription, kind);
    if (!fleet) {
      if (!sharedBudget) return wait(local.reserve(), signal);
      stats.budgetFallbacks += 1;
      return wait(fallbackFor(subscription, kind).reserve(), signal);
    }
    const started = clock.now();
    const viaFleet = await fleet.acquire(signal);
    stats.waitedInMs += Math.max(0, clock.now() - started);
    if (!viaFleet) {
      stats.budgetFallbacks += 1;
      await wait(fallbackFor(subscription, kind).reserve(), signal);
    }
  }

  function bucketsFor(subscription: string): { reads: TokenBucket; writes: TokenBucket } {
    let b = buckets.get(subscription);
    if (!b) {
      b = { reads: new TokenBucket(reads, clock), writes: new TokenBucket(writes, clock) };
      buckets.set(subscription, b);
    }
    return b;
  }

  async function wait(ms: number, signal: AbortSignalLike | undefined): Promise<void> {
    if (ms <= 0) return;
    stats.waitedInMs += ms;
    await clock.sleep(ms, signal);
  }

  function header(response: PacedResponse, name: string): string | undefined {
    return response.headers.get(name) ?? undefined;
  }

  function resync(
    response: PacedResponse,
    subscription: string,
    b: { reads: TokenBucket; writes: TokenBucket },
  ): void {
    // The regional bucket's header, or the newer global one; both count down the same budget.
    for (const [kind, bucket] of [
      ["reads", b.reads],
      ["writes", b.writes],
    ] as const) {
      const v =
        header(response, `x-ms-ratelimit-remaining-subscription-${kind}`) ??
        header(response, `x-ms-ratelimit-remaining-subscription-global-${kind}`);
      if (v !== undefined && /^\d+$/.test(v)) {
        bucket.sync(Number(v));
        fleetFor(subscription, kind)?.sync(Number(v));
      }
    }
  }

  /** The wait the service asked for (Retry-After and variants), scaled and capped; undefined when it set none. */
  function serviceDelay(response: PacedResponse): number | undefined {
    const after = retryAfterInMs({ get: (n) => header(response, n) }, clock.now());
    return after === undefined ? undefined : Math.min(maxRetryDelayInMs, after * retryAfterScale);
  }

  function backoff(attempt: number): number {
    const base = retryDelayInMs * 2 ** (attempt - 1);
    return Math.min(maxRetryDelayInMs, Math.round(base * (0.8 + 0.4 * random())));
  }

  return {
    stats: () => ({ ...stats }),
    useSharedBudget(budget) {
      sharedBudget = budget;
      fleets.clear();
    },
    async pace<R extends PacedResponse>(
      rawMethod: string,
      url: string,
      abortSignal: AbortSignalLike | undefined,
      send: () => Promise<R>,
    ): Promise<R> {
      const method = rawMethod.toUpperCase();
      const isRead = method === "GET" || method === "HEAD";
      const idempotent = idempotentMethods.has(method);
      const subscription = subscriptionOf(url);
      const kind: BudgetKind = isRead ? "reads" : "writes";
      const b = bucketsFor(subscription);
      const operation = armOperationOf(method, url);
      const retried = (reason: string) => telemetry().count(Metrics.armRetries.name, { operation, reason });
      const bucket = isRead ? b.reads : b.writes;
      let throttles = 0;
      let transients = 0;
      for (;;) {
        await acquire(subscription, kind, bucket, abortSignal);
        stats.sent += 1;
        let response: R;
        try {
          response = await send();
        } catch (e) {
          const code = (e as { code?: unknown } | undefined)?.code;
          const retryable =
            typeof code === "string" &&
            (idempotent ? connectionCodes.has(code) : notSentCodes.has(code)) &&
            !abortSignal?.aborted;
          if (!retryable || transients >= maxTransientRetries) throw e;
          transients += 1;
          stats.transientRetries += 1;
          retried("reset");
          const delay = backoff(transients);
          logger.debug(`${method} ${url} failed with ${code}; retry ${transients} in ${delay} ms`);
          await wait(delay, abortSignal);
          continue;
        }
        resync(response, subscription, b);
        telemetry().count(Metrics.armRequests.name, {
          operation,
          status_class: `${Math.floor(response.status / 100)}xx`,
          throttled: response.status === 429,
        });
        if (response.status === 429) {
          stats.throttled += 1;
          if (throttles >= maxThrottleRetries) return response;
          throttles += 1;
          retried("429");
          const delay = serviceDelay(response) ?? Math.min(maxRetryDelayInMs, defaultRetryAfterInMs);
          // Everyone using this subscription's bucket waits too, instead of collecting more 429s.
          bucket.drainFor(delay);
          fleetFor(subscription, kind)?.drain(delay);
          if (sharedBudget) fallbackFor(subscription, kind).drainFor(delay);
          logger.warn(`${method} ${url} throttled (429); retry ${throttles} in ${delay} ms`);
          continue; // the next reserve() waits out the drained bucket
        }
        if (idempotent && transientStatuses.has(response.status) && transients < maxTransientRetries) {
          transients += 1;
          stats.transientRetries += 1;
          retried("5xx");
          const delay = serviceDelay(response) ?? backoff(transients);
          logger.debug(`${method} ${url} answered ${response.status}; retry ${transients} in ${delay} ms`);
          await wait(delay, abortSignal);
          continue;
        }
        return response;
      }
    },
  };
}

/**
 * A request's ARM operation for telemetry, without names or ids: the method and the provider's resource
 * types, e.g. `GET Microsoft.DataProtection/backupVaults/backupInstances` (`GET resourceGroups` outside a
 * provider, `POST Microsoft.ResourceGraph/resources` for Resource Graph).
 */
export function armOperationOf(method: string, url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return `${method} (unreadable URL)`;
  }
  const segments = path.split("/").filter(Boolean);
  const providers = segments.map((x) => x.toLowerCase()).lastIndexOf("providers");
  if (providers < 0 || providers + 1 >= segments.length) {
    // Outside a provider: the collection names (subscriptions, resourceGroups), never their values.
    const names = segments.filter((_, i) => i % 2 === 0).slice(-1);
    return `${method} ${names.join("/") || "/"}`;
  }
  const [namespace = "", ...rest] = segments.slice(providers + 1);
  const types = rest.filter((_, i) => i % 2 === 0);
  return `${method} ${[namespace, ...types].join("/")}`;
}

/**
 * The pipeline policy every @azure/core-rest-pipeline client (the SDK clients, the Data Protection client)
 * gets at position "perCall". Pass a {@link Pacer} to share buckets with other clients.
 */
export function createPacingPolicy(pacerOrOptions: Pacer | PacingOptions = {}): PacingPolicy {
  const pacer = "pace" in pacerOrOptions ? pacerOrOptions : createPacer(pacerOrOptions);
  return {
    name: pacingPolicyName,
    stats: () => pacer.stats(),
    sendRequest: (request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> =>
      pacer.pace(request.method, request.url, request.abortSignal, () => next(request)),
  };
}
