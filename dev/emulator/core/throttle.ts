import type { EmulatorClock, OperationKind } from "./provider.js";

export interface BucketLimits {
  burst: number;
  perSecond: number;
}

export interface ThrottlingConfig {
  reads: BucketLimits;
  writes: BucketLimits;
  enabled: boolean;
}

/** ARM's documented per-subscription, per-region limits. */
export const DEFAULT_THROTTLING: ThrottlingConfig = {
  reads: { burst: 250, perSecond: 25 },
  writes: { burst: 200, perSecond: 10 },
  enabled: true,
};

export interface ThrottleDecision {
  allowed: boolean;
  remaining: number;
  /** Emulated ms until one token is available (when not allowed). */
  retryAfterInMs: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token buckets keyed by subscription, region and kind; refill follows emulator time. */
export function createThrottler(clock: EmulatorClock, initial: ThrottlingConfig = DEFAULT_THROTTLING) {
  let config = structuredClone(initial);
  const buckets = new Map<string, Bucket>();
  return {
    get config(): ThrottlingConfig {
      return structuredClone(config);
    },
    configure(next: Partial<ThrottlingConfig>): void {
      config = { ...config, ...next };
      buckets.clear();
    },
    reset(): void {
      buckets.clear();
    },
    /** Remaining tokens without taking one (headers of requests refused before throttling). */
    peek(subscriptionId: string, region: string, kind: OperationKind): number {
      const limits = kind === "read" ? config.reads : config.writes;
      const bucket = buckets.get(`${subscriptionId.toLowerCase()}|${region.toLowerCase()}|${kind}`);
      if (!bucket) return limits.burst;
      const elapsed = (clock.now() - bucket.updatedAt) / 1000;
      return Math.floor(Math.min(limits.burst, bucket.tokens + elapsed * limits.perSecond));
    },
    take(subscriptionId: string, region: string, kind: OperationKind): ThrottleDecision {
      const limits = kind === "read" ? config.reads : config.writes;
      const key = `${subscriptionId.toLowerCase()}|${region.toLowerCase()}|${kind}`;
      const now = clock.now();
      const bucket = buckets.get(key) ?? { tokens: limits.burst, updatedAt: now };
      bucket.tokens = Math.min(
        limits.burst,
        bucket.tokens + ((now - bucket.updatedAt) / 1000) * limits.perSecond,
      );
      bucket.updatedAt = now;
      buckets.set(key, bucket);
      if (!config.enabled) return { allowed: true, remaining: Math.floor(bucket.tokens), retryAfterInMs: 0 };
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true, remaining: Math.floor(bucket.tokens), retryAfterInMs: 0 };
      }
      return {
        allowed: false,
        remaining: 0,
        retryAfterInMs: Math.ceil(((1 - bucket.tokens) / limits.perSecond) * 1000),
      };
    },
  };
}

export type Throttler = ReturnType<typeof createThrottler>;
