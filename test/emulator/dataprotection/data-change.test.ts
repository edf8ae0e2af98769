/**
 * A server's data changes between backups (issue #17: a deliberately emptied table must reach the next
 * restore): after `emptyTable`, a backup restores the emptied table while an earlier recovery point still
 * restores the rows it was taken with, from a local PostgreSQL and from the committed archives alike; data
 * no committed archive holds fails the restore, saying how to get it. The `/_emulator/pgdata` controls
 * refuse bad bodies naming the field.
 */
import { readFileSync } from "node:fs";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type AzuriteHandle } from "../../../dev/azurite/index.js";
import type { DatabaseDeclaration } from "../../../dev/emulator/index.js";
import { findPostgresBinaries } from "../../../dev/emulator/pg/local.js";
import { createDataProtectionProvider } from "../../../dev/emulator/providers/dataprotection/index.js";
import { emptySlice, PROVIDER_NAME } from "../../../dev/emulator/providers/dataprotection/state.js";
import createStorageProvider from "../../../dev/emulator/providers/storage/index.js";
import { inspectArchive } from "../../../src/lib/archive/inspect.js";
import { bufferSource } from "../../../src/lib/archive/source.js";
import { armCall } from "./http.js";
import type { RawResponse } from "./http.js";
import { aPgFlexPolicy, startWorld, sub, vaultId, vaultName, vaultRg } from "./helpers.js";
import type { DpWorld } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
const ACCOUNT = `/subscriptions/${sub}/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/pgflexdata`;
const SERVER_ID = `/subscriptions/${sub}/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders-db`;
const INSTANCE = `${vaultId}/backupInstances/orders-db-bi`;

/** orders-db's databases in the demo estate: the committed archives hold them, and `orders.orders` emptied. */
const ordersDatabases = (
  JSON.parse(readFileSync("dev/emulator/seeds/demo-estate.json", "utf8")) as {
    providers: { pgdata: { servers: Array<{ databases: DatabaseDeclaration[] }> } };
  }
).providers.pgdata.servers[0]?.databases as DatabaseDeclaration[];

interface World {
  dp: DpWorld;
  call(method: string, path: string, body?: unknown): Promise<RawResponse>;
  /** A completed backup's recovery point id (the backup is then moved a week back: one a week). */
  backup(): Promise<string>;
  /** Restores `pointId` into `container`; the job's properties and the rows of each table of `orders`. */
  restore(
    pointId: string,
    container: string,
  ): Promise<{ job: Record<string, unknown>; rows: Record<string, number | undefined> }>;
  stop(): Promise<void>;
}

async function untilDone(call: World["call"], r: RawResponse): Promise<Record<string, unknown>> {
  const statusUrl = r.headers["azure-asyncoperation"];
  if (!statusUrl) throw new Error(`no Azure-AsyncOperation on ${r.status}: ${JSON.stringify(r.body)}`);
  for (let i = 0; i < 2000; i++) {
    const status = (await call("GET", statusUrl)).body as Record<string, unknown>;
    if (status.status !== "Inprogress") return status;
    await sleep(5);
  }
  throw new Error("the operation never ended");
}

async function jobWhenDone(call: World["call"], jobId: string): Promise<Record<string, unknown>> {
  const name = jobId.split("/").pop() ?? "";
  for (let i = 0; i < 2000; i++) {
    const job = (await call("GET", `${vaultId}/backupJobs/${name}`)).body as {
      properties: Record<string, unknown>;
    };
    if (job.properties.status !== "InProgress") return job.properties;
    await sleep(5);
  }
  throw new Error(`job ${name} never ended`);
}

async function startDataWorld(azurite: AzuriteHandle, localPostgres: boolean): Promise<World> {
  const dp = await startWorld({
    providers: [createDataProtectionProvider(), createStorageProvider()],
    blobConnectionString: azurite.connectionString,
    localPostgres,
  });
  const call: World["call"] = (method, path, body) =>
    armCall(dp.emulator.url, dp.emulator.caCert, method, path, body);
  await dp.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  dp.emulator.core.state.slice("pgdata", () => ({
    servers: [{ serverId: SERVER_ID, databases: structuredClone(ordersDatabases) }],
  }));
  await dp.protectServer("orders-db");
  const containers = ["before", "after", "unknown"].map(
    (c) => `${localPostgres ? "local" : "committed"}-${c}`,
  );
  await dp.emulator.control.invoke("POST", "/storage/accounts", {
    subscriptionId: sub,
    resourceGroupName: "rg-restore",
    name: "pgflexdata",
    location: "westeurope",
    allowCrossTenantReplication: true,
    containers,
  });
  dp.grant(BLOB_CONTRIBUTOR, ACCOUNT);
  const account = (
    await armCall(dp.emulator.url, dp.emulator.caCert, "GET", ACCOUNT, undefined, "2023-05-01")
  ).body as { properties: { primaryEndpoints: { blob: string } } };
  const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
  return {
    dp,
    call,
    async backup() {
      const r = await call("POST", `${INSTANCE}/backup`, {
        backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} },
      });
      const status = await untilDone(call, r);
      const job = await jobWhenDone(call, String((status.properties as { jobId: string }).jobId));
      expect(job.status).toBe("Completed");
      const pointId = (job.extendedInfo as { targetRecoverPoint: { recoveryPointID: string } })
        .targetRecoverPoint.recoveryPointID;
      const jobs = dp.emulator.core.context.state.slice(PROVIDER_NAME, emptySlice).jobs;
      const record = Object.values(jobs).find((j) => j.name.replace(/-/g, "") === pointId);
      if (!record) throw new Error("the backup job is not in the emulator's state");
      record.startMs -= 7 * 86_400_000;
      record.endMs -= 7 * 86_400_000;
      return pointId;
    },
    async restore(pointId, container) {
      const r = await call("POST", `${INSTANCE}/restore`, {
        objectType: "AzureBackupRecoveryPointBasedRestoreRequest",
        recoveryPointId: pointId,
        sourceDataStoreType: "VaultStore",
        restoreTargetInfo: {
          objectType: "RestoreFilesTargetInfo",
          recoveryOption: "FailIfExists",
          restoreLocation: "westeurope",
          targetDetails: {
            url: `${account.properties.primaryEndpoints.blob}${container}`,
            filePrefix: "ignored",
            restoreTargetLocationType: "AzureBlobs",
            targetResourceArmId: `${ACCOUNT}/blobServices/default/containers/${container}`,
          },
        },
      });
      expect(r.status).toBe(202);
      const status = await untilDone(call, r);
      expect(status.status).toBe("Succeeded");
      const result = (await call("GET", r.headers.location ?? "")).body as { jobId: string };
      const job = await jobWhenDone(call, result.jobId);
      const rows: Record<string, number | undefined> = {};
      const client = blobs.getContainerClient(container);
      for await (const blob of client.listBlobsFlat()) {
        if (!blob.name.endsWith("_database_orders.sql")) continue;
        const data = await client.getBlobClient(blob.name).downloadToBuffer();
        for (const t of (await inspectArchive(bufferSource(data))).tables) rows[t.name] = t.rows;
      }
      return { job, rows };
    },
    stop: () => dp.stop(),
  };
}

describe("a server's data changed between backups", () => {
  let azurite: AzuriteHandle;
  beforeAll(async () => {
    azurite = await startAzurite();
  }, 120_000);
  afterAll(async () => {
    await azurite?.stop();
  });

  const modes = [
    { name: "dumped by the local PostgreSQL", localPostgres: true, skip: !findPostgresBinaries() },
    { name: "served from the committed archives", localPostgres: false, skip: false },
  ];
  for (const mode of modes) {
    it.skipIf(mode.skip)(
      `restores the emptied table from a later backup and the old rows from an earlier one (${mode.name})`,
      async () => {
        const w = await startDataWorld(azurite, mode.localPostgres);
        try {
          const prefix = mode.localPostgres ? "local" : "committed";
          const before = await w.backup();
          w.dp.emulator.pgdata.emptyTable(SERVER_ID, "orders", "orders");
          const after = await w.backup();

          const newer = await w.restore(after, `${prefix}-after`);
          expect(newer.job.status).toBe("Completed");
          expect(newer.rows).toEqual({ customers: 3, orders: 0 });
          const older = await w.restore(before, `${prefix}-before`);
          expect(older.job.status).toBe("Completed");
          expect(older.rows).toEqual({ customers: 3, orders: 4 });
          const restores = await w.dp.emulator.control.invoke<Array<{ source: string }>>(
            "GET",
            "/dataprotection/restores",
          );
          expect(restores.map((r) => r.source)).toEqual(
            Array(2).fill(mode.localPostgres ? "local-postgres" : "committed-archives"),
          );
        } finally {
          await w.stop();
        }
      },
      120_000,
    );
  }

  it("fails the restore, saying how to get the data, when no committed archive holds it", async () => {
    const w = await startDataWorld(azurite, false);
    try {
      const orders = ordersDatabases.find((d) => d.name === "orders") as DatabaseDeclaration;
      const changed = ordersDatabases.map((d) =>
        d === orders ? { ...d, tables: (d.tables ?? []).filter((t) => t.name === "customers") } : d,
      );
      const set = await w.dp.emulator.control.invoke<{ databases: DatabaseDeclaration[] }>(
        "PUT",
        "/pgdata/servers",
        { serverId: SERVER_ID, databases: changed },
      );
      expect(set.databases.map((d) => d.name)).toEqual(["orders", "billing"]);
      const point = await w.backup();
      const { job, rows } = await w.restore(point, "committed-unknown");
      expect(job.status).toBe("Failed");
      expect(rows).toEqual({});
      const error = (job.errorDetails as Array<{ message: string }>)[0]?.message;
      expect(error).toContain("No pg_dump archive of database(s) 'orders' as this recovery point holds them");
      expect(error).toContain("Install PostgreSQL 15+");
      expect(error).toContain("npm run emulator:archives");
    } finally {
      await w.stop();
    }
  }, 120_000);
});

describe("the /_emulator/pgdata controls", () => {
  let w: DpWorld;
  beforeAll(async () => {
    w = await startWorld({ localPostgres: false });
    await w.emulator.control.invoke("PUT", "/pgdata/servers", {
      serverId: SERVER_ID,
      databases: ordersDatabases,
    });
  });
  afterAll(async () => {
    await w?.stop();
  });

  async function refusal(method: string, path: string, body: unknown): Promise<string> {
    try {
      await w.emulator.control.invoke(method, path, body);
    } catch (error) {
      const e = error as { statusCode: number; message: string };
      return `${e.statusCode} ${e.message}`;
    }
    throw new Error(`${method} ${path} was accepted`);
  }

  it("refuse bad bodies with 400, naming the field", async () => {
    const put = (body: unknown) => refusal("PUT", "/pgdata/servers", body);
    expect(await put({ serverId: "orders-db", databases: [] })).toMatch(
      /^400 .*'serverId' must be a flexible server's resource id/u,
    );
    expect(await put({ serverId: SERVER_ID })).toMatch(/^400 .*'databases' must be an array of databases/u);
    expect(await put({ serverId: SERVER_ID, databases: [{ name: "Orders" }] })).toMatch(
      /^400 .*'databases\[0\]': database name 'Orders' must be a lower-case SQL identifier/u,
    );
    expect(
      await put({
        serverId: SERVER_ID,
        databases: [{ name: "orders", tables: [{ name: "t", columns: ["id int"], rows: [[1, 2]] }] }],
      }),
    ).toMatch(/^400 .*'databases\[0\]': every row of 'orders.t' needs 1 values/u);
    expect(await put({ serverId: SERVER_ID, databases: [{ name: "a" }, { name: "a" }] })).toMatch(
      /^400 .*'databases\[1\]': database 'a' is declared twice/u,
    );
    expect(
      await refusal("POST", "/pgdata/servers/empty-table", { serverId: SERVER_ID, database: "orders" }),
    ).toMatch(/^400 .*'table' must be the name of a table of the server/u);
  });

  it("answer 404 naming what is missing, 409 when other rows reference the table", async () => {
    const empty = (body: unknown) => refusal("POST", "/pgdata/servers/empty-table", body);
    const other = SERVER_ID.replace("orders-db", "other-db");
    expect(await empty({ serverId: other, database: "orders", table: "orders" })).toMatch(
      /^404 .*Server '.*other-db' declares no databases/u,
    );
    expect(await empty({ serverId: SERVER_ID, database: "shop", table: "orders" })).toMatch(
      /^404 .*has no database 'shop'; it has 'orders', 'billing'/u,
    );
    expect(await empty({ serverId: SERVER_ID, database: "orders", table: "carts" })).toMatch(
      /^404 .*Database 'orders' of server .* has no table 'carts'; it has 'customers', 'orders'/u,
    );
    expect(await empty({ serverId: SERVER_ID, database: "orders", table: "customers" })).toMatch(
      /^409 .*Rows of 'orders.orders' reference 'orders.customers': empty that table first/u,
    );
  });

  it("empty a table for what comes next and list the servers' data", async () => {
    const emptied = await w.emulator.control.invoke<{ databases: DatabaseDeclaration[] }>(
      "POST",
      "/pgdata/servers/empty-table",
      { serverId: SERVER_ID, database: "orders", table: "orders" },
    );
    const tables = emptied.databases.find((d) => d.name === "orders")?.tables ?? [];
    expect(tables.map((t) => [t.name, t.rows?.length])).toEqual([
      ["customers", 3],
      ["orders", 0],
    ]);
    const listed = await w.emulator.control.invoke<Array<{ serverId: string }>>("GET", "/pgdata/servers");
    expect(listed.map((s) => s.serverId)).toEqual([SERVER_ID]);
  });
});
