import type { PostgreSQLManagementFlexibleServerClient } from "@azure/arm-postgresql-flexible";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../dev/emulator/index.js";
import { raw, serverPath, startCoreEmulator, SUB_A, SUB_B, ALPHA_DB, postgresClient } from "./helpers.js";

const NO_RETRY = { retryOptions: { maxRetries: 0 } };

describe("control API, counters, throttling and faults", () => {
  let emulator: RunningEmulator;
  let client: PostgreSQLManagementFlexibleServerClient;

  beforeAll(async () => {
    emulator = await startCoreEmulator({ faultSeed: 42 });
    client = postgresClient(emulator, SUB_A, NO_RETRY);
  });
  afterAll(async () => {
    await emulator.stop();
  });
  beforeEach(async () => {
    await emulator.control.reset();
    await emulator.control.loadState({
      servers: [ALPHA_DB],
    });
  });

  it("counts ARM calls per operation and resets the counters", async () => {
    await client.servers.get("rg-one", "alpha-db");
    await client.servers.get("rg-one", "alpha-db");
    for await (const server of client.servers.listBySubscription()) expect(server.name).toBe("alpha-db");
    const counters = await emulator.control.getCounters();
    expect(counters.operations.Servers_Get).toEqual({
      count: 2,
      reads: 2,
      writes: 0,
      statuses: { "200": 2 },
    });
    expect(counters.operations.Servers_ListBySubscription?.count).toBe(1);
    expect(counters.totals).toEqual({ count: 3, reads: 3, writes: 0 });
    await emulator.control.resetCounters();
    expect((await emulator.control.getCounters()).totals.count).toBe(0);
  });

  it("logs method, path, status and duration of each ARM request", async () => {
    await expect(client.servers.get("rg-one", "missing-db")).rejects.toMatchObject({ statusCode: 404 });
    const [entry] = await emulator.control.getRequests();
    expect(entry).toMatchObject({
      method: "GET",
      path: serverPath(SUB_A, "rg-one", "missing-db"),
      operationName: "Servers_Get",
      status: 404,
    });
    expect(entry?.durationInMs).toBeGreaterThanOrEqual(0);
  });

  it("exports state that loads back into an equal state", async () => {
    await emulator.control.createServer({
      subscriptionId: SUB_B,
      resourceGroupName: "rg-b",
      name: "stopped-db",
      location: "northeurope",
      state: "Stopped",
      tags: { backup: "daily" },
    });
    const exported = await emulator.control.exportState();
    await emulator.control.reset();
    await emulator.control.loadState(exported);
    expect(await emulator.control.exportState()).toEqual(exported);
    const other = postgresClient(emulator, SUB_B);
    const server = await other.servers.get("rg-b", "stopped-db");
    expect(server.state).toBe("Stopped");
    expect(server.tags).toEqual({ backup: "daily" });
  });

  it("moves a server to any state of the spec through the control API", async () => {
    const id = serverPath(SUB_A, "rg-one", "alpha-db");
    await emulator.control.setServerState(id, "Inaccessible");
    expect((await client.servers.get("rg-one", "alpha-db")).state).toBe("Inaccessible");
    await expect(emulator.control.setServerState(id, "Melting" as never)).rejects.toMatchObject({
      statusCode: 400,
      message: "Unknown server state 'Melting'.",
    });
  });

  it("throttles reads with 429, Retry-After and zero remaining reads", async () => {
    await emulator.control.setThrottling({ reads: { burst: 2, perSecond: 0.00001 } });
    try {
      const path = `${serverPath(SUB_A, "rg-one", "alpha-db")}?api-version=2025-08-01`;
      expect((await raw(emulator, "GET", path)).headers["x-ms-ratelimit-remaining-subscription-reads"]).toBe(
        "1",
      );
      expect((await raw(emulator, "GET", path)).headers["x-ms-ratelimit-remaining-subscription-reads"]).toBe(
        "0",
      );
      const throttled = await raw(emulator, "GET", path);
      expect(throttled.status).toBe(429);
      expect(throttled.headers["x-ms-ratelimit-remaining-subscription-reads"]).toBe("0");
      expect(Number(throttled.headers["retry-after"])).toBeGreaterThan(0);
      expect((throttled.body as { error: { code: string } }).error.code).toBe(
        "SubscriptionRequestsThrottled",
      );
      const writes = await raw(emulator, "PATCH", path, { body: '{"tags":{}}' });
      expect(writes.status).toBe(202);
    } finally {
      await emulator.control.setThrottling({ reads: { burst: 250, perSecond: 25 } });
    }
  });

  it("keeps separate buckets per subscription", async () => {
    await emulator.control.setThrottling({ reads: { burst: 1, perSecond: 0.00001 } });
    try {
      const list = (sub: string) =>
        raw(
          emulator,
          "GET",
          `/subscriptions/${sub}/providers/Microsoft.DBforPostgreSQL/flexibleServers?api-version=2025-08-01`,
        );
      expect((await list(SUB_A)).status).toBe(200);
      expect((await list(SUB_A)).status).toBe(429);
      expect((await list(SUB_B)).status).toBe(200);
    } finally {
      await emulator.control.setThrottling({ reads: { burst: 250, perSecond: 25 } });
    }
  });

  it("injects 503s for one operation and counts them", async () => {
    await emulator.control.setFaults({
      rules: [{ operation: "Servers_Get", errorRate503: 1, maxFaults: 1 }],
    });
    await expect(client.servers.get("rg-one", "alpha-db")).rejects.toMatchObject({
      statusCode: 503,
      code: "ServiceUnavailable",
    });
    expect((await client.servers.get("rg-one", "alpha-db")).name).toBe("alpha-db");
    const requests = await emulator.control.getRequests();
    expect(requests.map((r) => [r.status, r.fault])).toEqual([
      [503, "503"],
      [200, undefined],
    ]);
    await emulator.control.clearFaults();
  });

  it("resets connections when told to", async () => {
    await emulator.control.setFaults({ rules: [{ operation: "Servers_Get", resetRate: 1 }] });
    await expect(
      raw(emulator, "GET", `${serverPath(SUB_A, "rg-one", "alpha-db")}?api-version=2025-08-01`),
    ).rejects.toThrow();
    await emulator.control.clearFaults();
  });

  it("draws the same faults for the same seed", async () => {
    const pattern = async (): Promise<number[]> => {
      await emulator.control.setFaults({ seed: 7, rules: [{ errorRate500: 0.5 }] });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i += 1) {
        statuses.push(
          (await raw(emulator, "GET", `${serverPath(SUB_A, "rg-one", "alpha-db")}?api-version=2025-08-01`))
            .status,
        );
      }
      return statuses;
    };
    const first = await pattern();
    expect(first).toContain(500);
    expect(first).toContain(200);
    expect(await pattern()).toEqual(first);
    await emulator.control.clearFaults();
  });

  it("refuses control calls with a body that is not an object", async () => {
    const response = await raw(emulator, "PUT", "/_emulator/faults", { body: "[]", bearer: null });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: { code: "InvalidRequest", message: "The request body must be a JSON object." },
    });
  });
});
