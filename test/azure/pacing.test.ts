import { describe, expect, it } from "vitest";
import { createHttpHeaders, createPipelineRequest, RestError } from "@azure/core-rest-pipeline";
import type { PipelineRequest, PipelineResponse } from "@azure/core-rest-pipeline";
import { createPacingPolicy, retryAfterInMs, TokenBucket } from "../../src/lib/azure/pacing.js";
import { aVirtualClock } from "./fleetFakes.js";

const sub = "11111111-1111-1111-1111-111111111111";
const url = (s = sub, tail = "/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v") =>
  `https://management.azure.com/subscriptions/${s}${tail}?api-version=2024-04-01`;

function aRequest(method: "GET" | "PUT" | "POST" | "DELETE", target = url()): PipelineRequest {
  return createPipelineRequest({ url: target, method });
}

function aResponse(
  request: PipelineRequest,
  status: number,
  headers: Record<string, string> = {},
): PipelineResponse {
  return { request, status, headers: createHttpHeaders(headers) };
}

describe("pacing policy", () => {
  it("sends a burst of 1,000 writes in about the write budget's lower bound without a 429", async () => {
    const clock = aVirtualClock();
    // ARM itself: a write bucket of 200 + 10/s on the same clock.
    const arm = new TokenBucket({ burst: 200, perSecond: 10 }, clock);
    let armThrottled = 0;
    const policy = createPacingPolicy({ clock });
    const results = await Promise.all(
      Array.from({ length: 1000 }, () =>
        policy.sendRequest(aRequest("PUT"), async (req) => {
          if (arm.reserve() > 0) {
            armThrottled += 1;
            return aResponse(req, 429, { "retry-after": "1" });
          }
          return aResponse(req, 200);
        }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(armThrottled).toBe(0);
    // (1000 - 200 burst) / 10 per second = 80 s is the least any client can take.
    expect(clock.elapsed()).toBeGreaterThanOrEqual(80_000);
    expect(clock.elapsed()).toBeLessThanOrEqual(82_000);
    expect(policy.stats()).toMatchObject({ sent: 1000, throttled: 0 });
  });

  it("waits Retry-After after a 429 and then returns the success", async () => {
    const clock = aVirtualClock();
    const policy = createPacingPolicy({ clock });
    const answers = [429, 200];
    const response = await policy.sendRequest(aRequest("GET"), async (req) =>
      aResponse(req, answers.shift() ?? 500, { "retry-after": "7" }),
    );
    expect(response.status).toBe(200);
    expect(clock.elapsed()).toBeGreaterThanOrEqual(7000);
    expect(policy.stats()).toMatchObject({ sent: 2, throttled: 1 });
  });

  it("returns the 429 once its bounded retries are spent", async () => {
    const clock = aVirtualClock();
    const policy = createPacingPolicy({ clock, maxThrottleRetries: 2 });
    const response = await policy.sendRequest(aRequest("PUT"), async (req) =>
      aResponse(req, 429, { "retry-after": "1" }),
    );
    expect(response.status).toBe(429);
    expect(policy.stats()).toMatchObject({ sent: 3, throttled: 3 });
  });

  it("retries a GET after 503 with backoff but sends a POST action only once", async () => {
    const clock = aVirtualClock();
    const policy = createPacingPolicy({ clock, random: () => 0.5 });
    const getAnswers = [503, 500, 200];
    const get = await policy.sendRequest(aRequest("GET"), async (req) =>
      aResponse(req, getAnswers.shift() ?? 500),
    );
    expect(get.status).toBe(200);
    let posts = 0;
    const post = await policy.sendRequest(
      aRequest(
        "POST",
        url(
          sub,
          "/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v/backupInstances/i/backup",
        ),
      ),
      async (req) => {
        posts += 1;
        return aResponse(req, 503);
      },
    );
    expect(post.status).toBe(503);
    expect(posts).toBe(1);
  });

  it("retries a POST refused before it was sent but not one reset after", async () => {
    const clock = aVirtualClock();
    const policy = createPacingPolicy({ clock });
    let attempts = 0;
    const ok = await policy.sendRequest(aRequest("POST"), async (req) => {
      attempts += 1;
      if (attempts === 1) throw new RestError("connect ECONNREFUSED", { code: "ECONNREFUSED" });
      return aResponse(req, 202);
    });
    expect(ok.status).toBe(202);
    expect(attempts).toBe(2);
    await expect(
      policy.sendRequest(aRequest("POST"), async () => {
        throw new RestError("socket hang up", { code: "ECONNRESET" });
      }),
    ).rejects.toThrow("socket hang up");
  });

  it("retries an idempotent PUT after a connection reset, up to the bound", async () => {
    const clock = aVirtualClock();
    const policy = createPacingPolicy({ clock, maxTransientRetries: 2 });
    let attempts = 0;
    await expect(
      policy.sendRequest(aRequest("PUT"), async () => {
        attempts += 1;
        throw new RestError("socket hang up", { code: "ECONNRESET" });
      }),
    ).rejects.toThrow("socket hang up");
    expect(attempts).toBe(3);
  });

  it("trusts ARM's remaining-writes header over its own count", async () => {
    const clock = aVirtualClock();
    const policy = createPacingPolicy({ clock });
    await policy.sendRequest(aRequest("PUT"), async (req) =>
      aResponse(req, 200, { "x-ms-ratelimit-remaining-subscription-writes": "0" }),
    );
    const before = clock.elapsed();
    await policy.sendRequest(aRequest("PUT"), async (req) => aResponse(req, 200));
    // An empty bucket refills one write in 1/10 s.
    expect(clock.elapsed() - before).toBe(100);
  });

  it("also re-syncs from the global remaining-reads header", async () => {
    const clock = aVirtualClock();
    const policy = createPacingPolicy({ clock });
    await policy.sendRequest(aRequest("GET"), async (req) =>
      aResponse(req, 200, { "x-ms-ratelimit-remaining-subscription-global-reads": "0" }),
    );
    const before = clock.elapsed();
    await policy.sendRequest(aRequest("GET"), async (req) => aResponse(req, 200));
    // An empty read bucket refills one read in 1/25 s.
    expect(clock.elapsed() - before).toBe(40);
  });

  it("keeps reads and writes of each subscription in their own buckets", async () => {
    const clock = aVirtualClock();
    const policy = createPacingPolicy({
      clock,
      writes: { burst: 1, perSecond: 1 },
      reads: { burst: 1, perSecond: 1 },
    });
    const ok = async (req: PipelineRequest) => aResponse(req, 200);
    await policy.sendRequest(aRequest("PUT"), ok);
    await policy.sendRequest(aRequest("GET"), ok);
    await policy.sendRequest(aRequest("PUT", url("22222222-2222-2222-2222-222222222222")), ok);
    expect(clock.elapsed()).toBe(0);
    await policy.sendRequest(aRequest("PUT"), ok);
    expect(clock.elapsed()).toBe(1000);
  });

  it("stops waiting when the caller aborts", async () => {
    const policy = createPacingPolicy({ writes: { burst: 1, perSecond: 0.001 } });
    const ok = async (req: PipelineRequest) => aResponse(req, 200);
    await policy.sendRequest(aRequest("PUT"), ok);
    const controller = new AbortController();
    const request = createPipelineRequest({ url: url(), method: "PUT", abortSignal: controller.signal });
    const pending = policy.sendRequest(request, ok);
    controller.abort();
    await expect(pending).rejects.toThrow("The operation was aborted.");
  });
});

describe("retryAfterInMs", () => {
  const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] });
  it("reads seconds, milliseconds and HTTP dates", () => {
    expect(retryAfterInMs(headers({ "retry-after": "3" }), 0)).toBe(3000);
    expect(retryAfterInMs(headers({ "retry-after-ms": "250" }), 0)).toBe(250);
    expect(
      retryAfterInMs(
        headers({ "retry-after": "Wed, 25 Nov 2026 17:00:10 GMT" }),
        Date.parse("2026-11-25T17:00:00Z"),
      ),
    ).toBe(10_000);
    expect(retryAfterInMs(headers({}), 0)).toBeUndefined();
  });
});
