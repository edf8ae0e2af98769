import { describe, expect, it } from "vitest";
import { useAzurite } from "../support/azurite.js";
import { createStorageConnection, type StorageConnection } from "../../src/lib/store/connection.js";
import type { Config } from "../../src/lib/config/index.js";
import { createArmBudget, type ArmBudget } from "../../src/lib/store/armBudget.js";
import { createPacer } from "../../src/lib/azure/pacing.js";
import { aVirtualClock, worstExcess } from "../azure/fleetFakes.js";
import { createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline";
import { createApp } from "../../src/lib/app.js";
import { loadConfig } from "../../src/lib/config/index.js";
import { silentLogger } from "../../src/lib/logger.js";
import { encodeKey } from "../../src/lib/store/keys.js";

const sub = "22222222-2222-2222-2222-222222222222";
const shape = { capacity: 100, perSecond: 10 };
const t0 = 1_700_000_000_000;

describe("the fleet's ARM budget table (Azurite)", () => {
  const azurite = useAzurite();
  let n = 0;

  /** `count` stores over one fresh table, each with its own TableClient, as separate instances have. */
  function instances(count: number): { stores: ArmBudget[]; connection: StorageConnection } {
    const connection = createStorageConnection({ storageConnection: azurite.connectionString } as Config);
    const table = `armBudget${++n}x${Date.now() % 100000}`;
    const stores = Array.from({ length: count }, () =>
      createArmBudget(connection, { tableClient: connection.tableClient(table) }),
    );
    return { stores, connection };
  }

  it("grants every token exactly once when two instances race for the row (ETag conflicts re-read)", async () => {
    const { stores } = instances(2);
    await stores[0]!.take(sub, "writes", 0, { ...shape, nowInMs: t0 }); // the row exists: every take below races on it

    const grants = await Promise.all(
      Array.from({ length: 30 }, (_, i) => stores[i % 2]!.take(sub, "writes", 2, { ...shape, nowInMs: t0 })),
    );

    expect(grants.map((g) => g.left).sort((a, b) => b - a)).toEqual(
      Array.from({ length: 30 }, (_, i) => 98 - 2 * i),
    );
    expect(grants.every((g) => g.waitInMs === 0)).toBe(true);
    // Some takes lost a race and tried again: more Table requests than two per take.
    expect(stores[0]!.requestCount() + stores[1]!.requestCount()).toBeGreaterThan(1 + 2 * 30);
  });

  it("reserves beyond the bucket in arrival order: the holder waits until the refill covers it", async () => {
    const [a, b] = instances(2).stores;

    const first = await a!.take(sub, "writes", 100, { ...shape, nowInMs: t0 });
    const second = await b!.take(sub, "writes", 10, { ...shape, nowInMs: t0 });
    const third = await a!.take(sub, "writes", 10, { ...shape, nowInMs: t0 + 500 });

    expect(first).toEqual({ waitInMs: 0, left: 0, atInMs: t0 });
    expect(second).toEqual({ waitInMs: 1_000, left: -10, atInMs: t0 });
    expect(third).toEqual({ waitInMs: 1_500, left: -15, atInMs: t0 + 500 });
  });

  it("grants as of the caller's clock once the row is read, so a slow read does not age the lease", async () => {
    const [a, b] = instances(2).stores;
    await a!.take(sub, "writes", 100, { ...shape, nowInMs: t0 }); // empties the bucket

    // Asked at t0, but the row answered 2 s later: the refill of those 2 s is granted, as of then.
    const grant = await b!.take(sub, "writes", 10, { ...shape, nowInMs: t0, now: () => t0 + 2_000 });

    expect(grant).toEqual({ waitInMs: 0, left: 10, atInMs: t0 + 2_000 });
  });

  it("loses no more than a crashed holder's block, and refills to the full bucket without it", async () => {
    const [crashed, survivor] = instances(2).stores;
    await crashed!.take(sub, "writes", 10, { ...shape, nowInMs: t0 }); // then the instance dies holding it

    const now = await survivor!.take(sub, "writes", 90, { ...shape, nowInMs: t0 });
    const later = await survivor!.take(sub, "writes", 100, { ...shape, nowInMs: t0 + 10_000 });

    expect(now).toEqual({ waitInMs: 0, left: 0, atInMs: t0 });
    expect(later).toEqual({ waitInMs: 0, left: 0, atInMs: t0 + 10_000 });
  });

  it("holds every instance back after a 429 drains the row", async () => {
    const [throttled, other] = instances(2).stores;
    await throttled!.take(sub, "writes", 1, { ...shape, nowInMs: t0 });

    await throttled!.lower(sub, "writes", -50, { ...shape, nowInMs: t0 });
    const grant = await other!.take(sub, "writes", 1, { ...shape, nowInMs: t0 });

    expect(grant).toEqual({ waitInMs: 5_100, left: -51, atInMs: t0 });
  });

  it("never refills backwards for an instance whose clock runs behind the last writer's", async () => {
    const [ahead, behind] = instances(2).stores;
    await ahead!.take(sub, "reads", 100, { ...shape, nowInMs: t0 + 2_000 });

    const grant = await behind!.take(sub, "reads", 10, { ...shape, nowInMs: t0 });

    expect(grant).toEqual({ waitInMs: 1_000, left: -10, atInMs: t0 });
  });

  it("keeps three instances' pacers over one table within burst + rate × window", async () => {
    const { stores } = instances(3);
    const clock = aVirtualClock();
    const writes = { burst: 30, perSecond: 10 };
    const times: number[] = [];
    const pacers = stores.map((store) =>
      createPacer({
        writes,
        sharedBudget: store,
        clock,
        budgetBlock: { reads: 20, writes: 5 },
        budgetMinSpendInMs: 0,
      }),
    );
    const url = `https://management.azure.com/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/r?api-version=2022-04-01`;

    await Promise.all(
      pacers.map(async (pacer) => {
        let left = 30;
        await Promise.all(
          Array.from({ length: 5 }, async () => {
            while (left > 0) {
              left -= 1;
              await pacer.pace("PUT", url, undefined, async () => {
                times.push(clock.now());
                return { status: 201, headers: { get: () => undefined } };
              });
            }
          }),
        );
      }),
    );

    expect(times).toHaveLength(90);
    expect(worstExcess(times, writes)).toBeLessThanOrEqual(0);
    expect(pacers.map((p) => p.stats().budgetFallbacks)).toEqual([0, 0, 0]);
    const tableRequests = stores.reduce((sum, s) => sum + s.requestCount(), 0);
    expect(tableRequests).toBeLessThan(90);
  });

  it("puts an app on the shared budget by default or with PGFLEX_ARM_BUDGET=shared, and off it with local", async () => {
    const env = { AzureWebJobsStorage: azurite.connectionString, PGFLEX_LOG_LEVEL: "error" };
    const connection = createStorageConnection({ storageConnection: azurite.connectionString } as Config);
    /** One write through an app with `settings`, charged to its own subscription; true when the row holds it. */
    const chargedToTheTable = async (settings: Record<string, string>, subscription: string) => {
      const url = `https://management.azure.com/subscriptions/${subscription}/resourceGroups/rg?api-version=2021-04-01`;
      const app = await createApp(loadConfig({ ...env, ...settings }), { logger: silentLogger });
      await app.azure.clients.pacing.sendRequest(
        createPipelineRequest({ url, method: "PUT" }),
        async (request) => ({ request, status: 200, headers: createHttpHeaders() }),
      );
      return connection
        .tableClient("armBudget")
        .getEntity(encodeKey(subscription), "writes")
        .then(
          () => true,
          () => false,
        );
    };

    expect(
      await chargedToTheTable({ PGFLEX_ARM_BUDGET: "local" }, "44444444-4444-4444-4444-444444444441"),
    ).toBe(false);
    expect(await chargedToTheTable({}, "44444444-4444-4444-4444-444444444442")).toBe(true);
    expect(
      await chargedToTheTable({ PGFLEX_ARM_BUDGET: "shared" }, "44444444-4444-4444-4444-444444444443"),
    ).toBe(true);
  });
});
