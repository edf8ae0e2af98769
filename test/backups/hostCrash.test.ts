import type { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import type { BackupGateway } from "../../src/lib/backups/gateway.js";
import { createBackupService, startClaimStaleAfterInMs } from "../../src/lib/backups/service.js";
import { createJobPoller } from "../../src/lib/jobs/poller.js";
import { createActiveJobStore } from "../../src/lib/store/activeJobs.js";
import type { StorageConnection } from "../../src/lib/store/connection.js";
import { createCursorStore } from "../../src/lib/store/cursors.js";
import { createJobStore } from "../../src/lib/store/jobs.js";
import { createServerStore } from "../../src/lib/store/servers.js";
import { useAzurite } from "../support/azurite.js";
import { aFakeAzure, aJob } from "../fixtures/jobs/azure.js";
import { SUB, VAULT, aServer, aStorage } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();

/** Each test replays a whole start or cycle once per kill point, over fresh tables each time. */
const PER_KILL_POINT_TEST_TIMEOUT_IN_MS = 240_000;

class HostKilled extends Error {
  override readonly name = "HostKilled";
}

/**
 * A host that is SIGKILLed before its (limit+1)th call to Storage or Azure, or before it would start a backup
 * in Azure (`diesStarting`): that call and everything after it never happen, whatever the code would do next.
 * `calls` counts what a clean run makes.
 */
function aMortalHost({ limit = Number.POSITIVE_INFINITY, diesStarting = false } = {}) {
  let calls = 0;
  let dead = false;
  const step = (starting = false) => {
    dead ||= calls >= limit || (starting && diesStarting);
    if (dead) throw new HostKilled(`killed before call ${calls + 1}`);
    calls++;
  };
  const mortal = (client: TableClient): TableClient =>
    new Proxy(client, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          step();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return {
    get calls() {
      return calls;
    },
    connection(connection: StorageConnection): StorageConnection {
      return { ...connection, tableClient: (name) => mortal(connection.tableClient(name)) };
    },
    gateway(gateway: BackupGateway): BackupGateway {
      return {
        listJobs: (vaultId, options) => {
          step();
          return gateway.listJobs(vaultId, options);
        },
        getJob: async (vaultId, jobId, options) => {
          step();
          return gateway.getJob(vaultId, jobId, options);
        },
        startAdhocBackup: async (instance, options) => {
          step(true);
          return gateway.startAdhocBackup(instance, options);
        },
      };
    },
  };
}

function storesOver(connection: StorageConnection) {
  return {
    servers: createServerStore(connection),
    jobs: createJobStore(connection),
    activeJobs: createActiveJobStore(connection),
    cursors: createCursorStore(connection),
  };
}

const pgOne = { subscriptionId: SUB, resourceGroup: "rg-db", serverName: "pg-one" };

async function aWorld() {
  const storage = aStorage(azurite.connectionString);
  const azure = aFakeAzure();
  await storage.servers.create(aServer("pg-one"));
  return { storage, azure };
}

type World = Awaited<ReturnType<typeof aWorld>>;

/** The restarted host: polls, the job ends in Azure, polls again. */
async function restartAndFollow({ storage, azure }: World): Promise<void> {
  const stores = storesOver(storage.connection);
  const poller = createJobPoller({ gateway: azure.gateway, ...stores, knownVaults: async () => [VAULT] });
  await poller.pollOnce();
  for (const id of azure.jobs.keys())
    azure.update(id, { status: "Completed", endTime: new Date().toISOString(), duration: "PT12M15S" });
  await poller.pollOnce();
}

async function followed({ storage }: World): Promise<string[]> {
  const ids: string[] = [];
  for await (const row of storage.activeJobs.list()) ids.push(row.jobId);
  return ids;
}

async function statusById(world: World): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of world.azure.jobs.keys())
    out[id] = (await world.storage.jobs.getById(id))?.status ?? "not found by id";
  return out;
}

describe("backup jobs when the host is SIGKILLed mid-step", () => {
  it(
    "tracks a backup it was starting to a final row found by id, whichever call the host dies before",
    async () => {
      const clean = aMortalHost();
      const cleanWorld = await aWorld();
      await createBackupService({
        ...storesOver(clean.connection(cleanWorld.storage.connection)),
        gateway: clean.gateway(cleanWorld.azure.gateway),
        scopes: [SUB],
      }).start(pgOne, { origin: "api" });

      const broken: Array<{ killedBefore: number; azureJobs: number; status: Record<string, string> }> = [];
      for (let limit = 0; limit < clean.calls; limit++) {
        const world = await aWorld();
        const host = aMortalHost({ limit });
        // Dead before its last call (the claim's release, whose failure is only logged) it still "answers".
        await createBackupService({
          ...storesOver(host.connection(world.storage.connection)),
          gateway: host.gateway(world.azure.gateway),
          scopes: [SUB],
        })
          .start(pgOne, { origin: "api" })
          .catch((e: unknown) => {
            if (!(e instanceof HostKilled)) throw e;
          });
        // The client retries what Azure never saw, once the dead starter's claim is stale.
        if (world.azure.jobs.size === 0) {
          await createBackupService({
            ...storesOver(world.storage.connection),
            gateway: world.azure.gateway,
            scopes: [SUB],
            now: () => new Date(Date.now() + startClaimStaleAfterInMs() + 1_000),
          }).start(pgOne, { origin: "api" });
        }
        await restartAndFollow(world);
        const status = await statusById(world);
        const azureJobs = world.azure.jobs.size;
        if (azureJobs !== 1 || Object.values(status)[0] !== "Completed" || (await followed(world)).length)
          broken.push({ killedBefore: limit + 1, azureJobs, status });
      }
      expect(clean.calls).toBeGreaterThan(5);
      expect(broken).toEqual([]);
    },
    PER_KILL_POINT_TEST_TIMEOUT_IN_MS,
  );

  it(
    "tracks a job a poll cycle was recording to a final row found by id, whichever call the cycle dies before",
    async () => {
      const cycle = async (world: World, host: ReturnType<typeof aMortalHost>) => {
        const stores = storesOver(host.connection(world.storage.connection));
        await createJobPoller({
          gateway: host.gateway(world.azure.gateway),
          ...stores,
          knownVaults: async () => [VAULT],
        }).pollOnce();
      };
      const clean = aMortalHost();
      const cleanWorld = await aWorld();
      cleanWorld.azure.add(aJob({ server: "pg-one", startTime: new Date().toISOString() }));
      await cycle(cleanWorld, clean);
      expect(clean.calls).toBeGreaterThan(5);

      const broken: Array<{ killedBefore: number; status: Record<string, string> }> = [];
      for (let limit = 0; limit < clean.calls; limit++) {
        const world = await aWorld();
        world.azure.add(aJob({ server: "pg-one", startTime: new Date().toISOString() }));
        // A cycle that dies reports its vault as failed, or throws before it reaches one.
        await cycle(world, aMortalHost({ limit })).catch((e: unknown) => {
          if (!(e instanceof HostKilled)) throw e;
        });
        await restartAndFollow(world);
        const status = await statusById(world);
        if (Object.values(status)[0] !== "Completed" || (await followed(world)).length)
          broken.push({ killedBefore: limit + 1, status });
      }
      expect(broken).toEqual([]);
    },
    PER_KILL_POINT_TEST_TIMEOUT_IN_MS,
  );

  it("refuses a retry while a dead starter's claim stands and takes the claim over after, at the emulator's pace", async () => {
    const { storage, azure } = await aWorld();
    const host = aMortalHost({ diesStarting: true });
    await createBackupService({
      ...storesOver(host.connection(storage.connection)),
      gateway: host.gateway(azure.gateway),
      scopes: [SUB],
    })
      .start(pgOne, { origin: "api" })
      .catch((e: unknown) => {
        if (!(e instanceof HostKilled)) throw e;
      });
    expect(azure.jobs.size).toBe(0);
    const retryAfter = (ms: number) =>
      createBackupService({
        ...storesOver(storage.connection),
        gateway: azure.gateway,
        scopes: [SUB],
        startClaimStaleAfterInMs: startClaimStaleAfterInMs(20),
        now: () => new Date(Date.now() + ms),
      }).start(pgOne, { origin: "api" });

    await expect(retryAfter(55_000)).rejects.toMatchObject({ status: 409, code: "BackupAlreadyRunning" });
    await expect(retryAfter(65_000)).resolves.toMatchObject({ status: "InProgress", origin: "api" });
    expect(azure.jobs.size).toBe(1);
  });

  it("lets a start claim stand 10 minutes in Azure, divided by the time scale but at least a minute against an emulator", () => {
    expect(startClaimStaleAfterInMs()).toBe(600_000);
    expect(startClaimStaleAfterInMs(2)).toBe(300_000);
    expect(startClaimStaleAfterInMs(10)).toBe(60_000);
    expect(startClaimStaleAfterInMs(1000)).toBe(60_000);
  });
});
