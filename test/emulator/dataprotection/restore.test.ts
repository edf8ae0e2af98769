import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type AzuriteHandle } from "../../../dev/azurite/index.js";
import { findPostgresBinaries } from "../../../dev/emulator/pg/local.js";
import { ARCHIVES_DIR, readManifest } from "../../../dev/emulator/pg/snapshots.js";
import { createDataProtectionProvider } from "../../../dev/emulator/providers/dataprotection/index.js";
import { emptySlice, PROVIDER_NAME } from "../../../dev/emulator/providers/dataprotection/state.js";
import createStorageProvider from "../../../dev/emulator/providers/storage/index.js";
import { armCall } from "./http.js";
import type { RawResponse } from "./http.js";
import { aPgFlexPolicy, startWorld, sub, vaultId, vaultName, vaultRg } from "./helpers.js";
import type { DpWorld } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pgRestore = findPostgresBinaries()?.pgRestore;
const BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
const storageRg = "rg-restore";
const accountId = (name: string): string =>
  `/subscriptions/${sub}/resourceGroups/${storageRg}/providers/Microsoft.Storage/storageAccounts/${name}`;
const containerId = (account: string, container: string): string =>
  `${accountId(account)}/blobServices/default/containers/${container}`;

/** The demo estate's databases of orders-db: the committed archives were made from this declaration. */
const ordersDatabases = (
  JSON.parse(readFileSync("dev/emulator/seeds/demo-estate.json", "utf8")) as {
    providers: { pgdata: { servers: Array<{ databases: unknown[] }> } };
  }
).providers.pgdata.servers[0]?.databases;

interface RestoreWorld {
  world: DpWorld;
  call(method: string, path: string, body?: unknown): Promise<RawResponse>;
  /** Polls the Azure-AsyncOperation URL to the end; returns the last status body and the Location result. */
  finish(r: RawResponse): Promise<{ status: Record<string, unknown>; result?: RawResponse }>;
  instancePath: string;
  /** Backs up the instance and waits for the job to complete; returns the job's properties. */
  backup(): Promise<Record<string, unknown>>;
  restoreBody(options?: {
    container?: string;
    account?: string;
    armId?: string | null;
  }): Record<string, unknown>;
  blobUrl(account: string, container: string): Promise<string>;
  stop(): Promise<void>;
}

async function startRestoreWorld(
  azurite: AzuriteHandle,
  options: { localPostgres?: boolean; pageSize?: number } = {},
): Promise<RestoreWorld> {
  const world = await startWorld({
    providers: [createDataProtectionProvider(), createStorageProvider()],
    blobConnectionString: azurite.connectionString,
    ...options,
  });
  await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  const call = (method: string, path: string, body?: unknown) =>
    armCall(world.emulator.url, world.emulator.caCert, method, path, body);
  const serverId = `/subscriptions/${sub}/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders-db`;
  world.emulator.core.state.slice("pgdata", () => ({
    servers: [{ serverId, databases: ordersDatabases }],
  }));
  await world.protectServer("orders-db");
  const instancePath = `${vaultId}/backupInstances/orders-db-bi`;
  const finish: RestoreWorld["finish"] = async (r) => {
    const statusUrl = r.headers["azure-asyncoperation"];
    if (!statusUrl) throw new Error(`no Azure-AsyncOperation on ${r.status}: ${JSON.stringify(r.body)}`);
    let status: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++) {
      status = (await call("GET", statusUrl)).body as Record<string, unknown>;
      if (status.status !== "Inprogress") break;
      await sleep(5);
    }
    const location = r.headers.location;
    return { status, ...(location ? { result: await call("GET", location) } : {}) };
  };
  const blobUrls = new Map<string, string>();
  return {
    world,
    call,
    finish,
    instancePath,
    async backup() {
      const r = await call("POST", `${instancePath}/backup`, {
        backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} },
      });
      const { status } = await finish(r);
      const jobId = String((status.properties as { jobId: string }).jobId)
        .split("/")
        .pop();
      for (let i = 0; i < 1000; i++) {
        const job = (await call("GET", `${vaultId}/backupJobs/${jobId}`)).body as {
          properties: Record<string, unknown>;
        };
        if (job.properties.status !== "InProgress") return job.properties;
        await sleep(5);
      }
      throw new Error("the backup job never ended");
    },
    restoreBody({ container = "restores", account = "pgflexrestores", armId } = {}) {
      const url = blobUrls.get(`${account}/${container}`) ?? "";
      return {
        objectType: "AzureBackupRecoveryPointBasedRestoreRequest",
        recoveryPointId: "",
        sourceDataStoreType: "VaultStore",
        restoreTargetInfo: {
          objectType: "RestoreFilesTargetInfo",
          recoveryOption: "FailIfExists",
          restoreLocation: "westeurope",
          targetDetails: {
            url,
            filePrefix: "ignored",
            restoreTargetLocationType: "AzureBlobs",
            ...(armId === null ? {} : { targetResourceArmId: armId ?? containerId(account, container) }),
          },
        },
      };
    },
    async blobUrl(account, container) {
      const got = (
        await armCall(
          world.emulator.url,
          world.emulator.caCert,
          "GET",
          accountId(account),
          undefined,
          "2023-05-01",
        )
      ).body as {
        properties: { primaryEndpoints: { blob: string } };
      };
      const url = `${got.properties.primaryEndpoints.blob}${container}`;
      blobUrls.set(`${account}/${container}`, url);
      return url;
    },
    stop: () => world.stop(),
  };
}

async function addAccount(
  w: RestoreWorld,
  name: string,
  container: string,
  settings: { allowCrossTenantReplication?: boolean; publicNetworkAccess?: string } = {},
): Promise<void> {
  await w.world.emulator.control.invoke("POST", "/storage/accounts", {
    subscriptionId: sub,
    resourceGroupName: storageRg,
    name,
    location: "westeurope",
    allowCrossTenantReplication: true,
    ...settings,
    containers: [container],
  });
  await w.blobUrl(name, container);
}

async function restoreAndWait(w: RestoreWorld, body: Record<string, unknown>) {
  const r = await w.call("POST", `${w.instancePath}/restore`, body);
  expect(r.status).toBe(202);
  const { status, result } = await w.finish(r);
  expect(status.status).toBe("Succeeded");
  const jobName = String((result?.body as { jobId: string }).jobId)
    .split("/")
    .pop();
  for (let i = 0; i < 2000; i++) {
    const job = (await w.call("GET", `${vaultId}/backupJobs/${jobName}`)).body as {
      properties: Record<string, unknown> & { extendedInfo: Record<string, unknown> };
    };
    if (job.properties.status !== "InProgress") return job.properties;
    await sleep(5);
  }
  throw new Error("the restore job never ended");
}

async function blobsOf(azurite: AzuriteHandle, container: string): Promise<Map<string, Buffer>> {
  const client = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    container,
  );
  const out = new Map<string, Buffer>();
  for await (const blob of client.listBlobsFlat())
    out.set(blob.name, await client.getBlobClient(blob.name).downloadToBuffer());
  return out;
}

/** What every restore as files must leave in the container: the pattern, not a count. */
async function expectRestoredFiles(azurite: AzuriteHandle, container: string): Promise<Map<string, Buffer>> {
  const blobs = await blobsOf(azurite, container);
  const names = [...blobs.keys()];
  const guid = /^([0-9a-f-]{36})_/u.exec(names.find((n) => n.includes("_database_")) ?? "")?.[1];
  expect(guid).toBeDefined();
  expect(names.sort()).toEqual(
    [
      `${guid}_database_billing.sql`,
      `${guid}_database_orders.sql`,
      `${guid}_database_postgres.sql`,
      `${guid}_roles.sql`,
      `${guid}_schema.sql`,
      `${guid}_tablespaces.sql`,
      "backupstarttimestamp",
    ].sort(),
  );
  for (const [name, data] of blobs) {
    if (name.includes("_database_")) expect(data.subarray(0, 5).toString("latin1")).toBe("PGDMP");
  }
  expect(blobs.get(`${guid}_roles.sql`)?.toString("utf8")).toContain("CREATE ROLE azure_pg_admin;");
  return blobs;
}

async function pgRestoreList(data: Buffer): Promise<string> {
  const child = promisify(execFile);
  const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(join(tmpdir(), "pgrestore-"));
  try {
    await writeFile(join(dir, "db.dump"), data);
    return (await child(pgRestore as string, ["--list", join(dir, "db.dump")])).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("Data Protection restore as files", () => {
  let azurite: AzuriteHandle;
  let w: RestoreWorld;

  beforeAll(async () => {
    azurite = await startAzurite();
    w = await startRestoreWorld(azurite, { pageSize: 1 });
    await addAccount(w, "pgflexrestores", "restores");
    await addAccount(w, "pgflexnocross", "restores-nocross", { allowCrossTenantReplication: false });
    await addAccount(w, "pgflexprivate", "restores-private", { publicNetworkAccess: "Disabled" });
  }, 120_000);
  afterAll(async () => {
    await w?.stop();
    await azurite?.stop();
  });

  it("lists one recovery point per completed backup, with the policy's retention tag and expiry, paged", async () => {
    expect((await w.call("GET", `${w.instancePath}/recoveryPoints`)).body).toEqual({ value: [] });
    const idOf = (job: Record<string, unknown>) =>
      (job.extendedInfo as { targetRecoverPoint: { recoveryPointID: string } }).targetRecoverPoint
        .recoveryPointID;
    const first = await w.backup();
    // Azure runs one vaulted backup a week: the first is moved a week back, as if taken last week.
    const jobs = w.world.emulator.core.context.state.slice(PROVIDER_NAME, emptySlice).jobs;
    const firstRecord = Object.values(jobs).find((j) => j.name.replace(/-/g, "") === idOf(first));
    if (!firstRecord) throw new Error("the first backup job is not in the emulator's state");
    firstRecord.startMs -= 7 * 86_400_000;
    firstRecord.endMs -= 7 * 86_400_000;
    const second = await w.backup();
    const page1 = (await w.call("GET", `${w.instancePath}/recoveryPoints`)).body as {
      value: Array<{ name: string; properties: Record<string, unknown> }>;
      nextLink?: string;
    };
    expect(page1.nextLink).toBeDefined();
    const page2 = (await w.call("GET", page1.nextLink as string)).body as typeof page1;
    const points = [...page1.value, ...page2.value];
    // Newest first.
    expect(points.map((p) => p.name)).toEqual([idOf(second), idOf(first)]);
    const p = points[0]?.properties ?? {};
    expect(p).toMatchObject({
      objectType: "AzureBackupDiscreteRecoveryPoint",
      recoveryPointId: idOf(second),
      retentionTagName: "Default",
      policyName: "pgflex-weekly",
      recoveryPointState: "Completed",
    });
    // Kept as long as the policy's retention rule says: 12 weeks.
    expect(Date.parse(String(p.expiryTime)) - Date.parse(String(p.recoveryPointTime))).toBeGreaterThan(0);
    const got = await w.call("GET", `${w.instancePath}/recoveryPoints/${idOf(first)}`);
    expect(got.status).toBe(200);
    expect((got.body as { name: string }).name).toBe(idOf(first));
    expect((await w.call("GET", `${w.instancePath}/recoveryPoints/0000`)).status).toBe(404);
  });

  describe("refuses before any restore job starts", () => {
    let pointId: string;
    beforeAll(async () => {
      const points = (await w.call("GET", `${w.instancePath}/recoveryPoints`)).body as {
        value: Array<{ name: string }>;
      };
      pointId = points.value[0]?.name ?? "";
    });
    const withPoint = (body: Record<string, unknown>) => ({ ...body, recoveryPointId: pointId });

    async function refusal(body: Record<string, unknown>): Promise<string[]> {
      const out: string[] = [];
      const v = await w.call("POST", `${w.instancePath}/validateRestore`, { restoreRequestObject: body });
      const r = await w.call("POST", `${w.instancePath}/restore`, body);
      for (const answer of [v, r]) {
        if (answer.status !== 202) {
          const e = (answer.body as { error: { code: string; message: string } }).error;
          out.push(`${answer.status} ${e.code}: ${e.message}`);
        } else {
          const { status } = await w.finish(answer);
          const e = status.error as { code: string; message: string };
          out.push(`${String(status.status)} ${e.code}: ${e.message}`);
        }
      }
      const restores = await w.world.emulator.control.invoke<unknown[]>("GET", "/dataprotection/restores");
      expect(restores).toEqual([]);
      return out;
    }

    it("when the vault identity lacks Storage Blob Data Contributor on the container", async () => {
      const id = containerId("pgflexrestores", "restores");
      const [v, r] = await refusal(withPoint(w.restoreBody()));
      const expected = `Failed UserErrorContainerNotAccessible: The Backup vault's managed identity (principal 'aaaaaaaa-0000-4000-8000-000000000001') cannot access the container '${id}': it needs the role 'Storage Blob Data Contributor' (${BLOB_CONTRIBUTOR}) on the container or its storage account. Grant it: az role assignment create --assignee-object-id aaaaaaaa-0000-4000-8000-000000000001 --assignee-principal-type ServicePrincipal --role ${BLOB_CONTRIBUTOR} --scope ${id}`;
      expect([v, r]).toEqual([expected, expected]);
    });

    it("when the account disallows cross-tenant replication or public network access", async () => {
      w.world.grant(BLOB_CONTRIBUTOR, accountId("pgflexnocross"));
      w.world.grant(BLOB_CONTRIBUTOR, accountId("pgflexprivate"));
      const cross = await refusal(
        withPoint(w.restoreBody({ account: "pgflexnocross", container: "restores-nocross" })),
      );
      expect(cross).toEqual(
        Array(2).fill(
          `Failed UserErrorContainerNotAccessible: The storage account 'pgflexnocross' does not allow cross-tenant replication, which a restore as files needs. Allow it: az storage account update --ids ${accountId("pgflexnocross")} --allow-cross-tenant-replication true`,
        ),
      );
      const closed = await refusal(
        withPoint(w.restoreBody({ account: "pgflexprivate", container: "restores-private" })),
      );
      expect(closed).toEqual(
        Array(2).fill(
          `Failed UserErrorContainerNotAccessible: The storage account 'pgflexprivate' has public network access 'Disabled'; a restore as files needs it 'Enabled'. Enable it: az storage account update --ids ${accountId("pgflexprivate")} --public-network-access Enabled`,
        ),
      );
    });

    it("when targetResourceArmId names the storage account instead of the container", async () => {
      const account = accountId("pgflexrestores");
      const out = await refusal(withPoint(w.restoreBody({ armId: account })));
      expect(out).toEqual(
        Array(2).fill(
          `400 UserErrorInvalidRequestParameter: The targetResourceArmId '${account}' is invalid: it names a storage account. Give the blob container's id: '${account}/blobServices/default/containers/<container>'.`,
        ),
      );
    });

    it("when the restore is not from a recovery point to files, or the point is unknown", async () => {
      const body = withPoint(w.restoreBody());
      const notFiles = {
        ...body,
        restoreTargetInfo: { objectType: "RestoreTargetInfo", recoveryOption: "FailIfExists" },
      };
      const byTime = { ...body, objectType: "AzureBackupRecoveryTimeBasedRestoreRequest" };
      const unknown = { ...body, recoveryPointId: "ffffffffffffffffffffffffffffffff" };
      expect((await refusal(notFiles))[1]).toBe(
        "400 UserErrorInvalidRequestParameter: 'parameters.restoreTargetInfo.objectType' is 'RestoreTargetInfo': a PostgreSQL Flexible Server restores only as files ('RestoreFilesTargetInfo') to a blob container.",
      );
      expect((await refusal(byTime))[1]).toBe(
        "400 UserErrorInvalidRequestParameter: 'parameters.objectType' is 'AzureBackupRecoveryTimeBasedRestoreRequest': a PostgreSQL Flexible Server restores only from a recovery point ('AzureBackupRecoveryPointBasedRestoreRequest').",
      );
      expect((await refusal(unknown))[1]).toBe(
        "400 UserErrorRecoveryPointNotFound: Recovery point 'ffffffffffffffffffffffffffffffff' was not found for backup instance 'orders-db-bi'. List the instance's recoveryPoints and use one of their ids.",
      );
    });
  });

  it("restores a recovery point as files into the Azurite container: real pg_dump archives and the globals", async () => {
    w.world.grant(BLOB_CONTRIBUTOR, containerId("pgflexrestores", "restores"));
    const points = (await w.call("GET", `${w.instancePath}/recoveryPoints`)).body as {
      value: Array<{ name: string; properties: { recoveryPointTime: string } }>;
    };
    const point = points.value[0];
    const body = { ...w.restoreBody(), recoveryPointId: point?.name };
    const validated = await w.finish(
      await w.call("POST", `${w.instancePath}/validateRestore`, { restoreRequestObject: body }),
    );
    expect(validated.status.status).toBe("Succeeded");
    expect(validated.result?.body).toEqual({ objectType: "OperationJobExtendedInfo" });

    const job = await restoreAndWait(w, body);
    expect(job).toMatchObject({
      status: "Completed",
      operation: "Restore",
      operationCategory: "Restore",
      sourceDataStoreType: "VaultStore",
    });
    expect(job.extendedInfo).toMatchObject({
      recoveryDestination: await w.blobUrl("pgflexrestores", "restores"),
      sourceRecoverPoint: {
        recoveryPointID: point?.name,
        recoveryPointTime: point?.properties.recoveryPointTime,
      },
      subTasks: [{ taskName: "Trigger Restore", taskStatus: "Completed" }],
    });
    const blobs = await expectRestoredFiles(azurite, "restores");
    const restores = await w.world.emulator.control.invoke<Array<{ source: string }>>(
      "GET",
      "/dataprotection/restores",
    );
    expect(restores[0]?.source).toBe(pgRestore ? "local-postgres" : "committed-archives");
    if (!pgRestore) return; // pg_restore not installed: the PGDMP magic above is all we can check.
    const orders = [...blobs.entries()].find(([n]) => n.endsWith("_database_orders.sql"))?.[1];
    const list = await pgRestoreList(orders as Buffer);
    expect(list).toContain("TABLE DATA public customers");
    expect(list).toContain("TABLE DATA public orders");
  });

  it("a restore does not use the week's vaulted backup: the next backup of that week completes", async () => {
    await addAccount(w, "pgflexweek", "restores-week");
    w.world.grant(BLOB_CONTRIBUTOR, containerId("pgflexweek", "restores-week"));
    // The backups so far were taken last week: this week has no vaulted backup yet.
    const jobs = w.world.emulator.core.context.state.slice(PROVIDER_NAME, emptySlice).jobs;
    for (const job of Object.values(jobs)) {
      job.startMs -= 7 * 86_400_000;
      job.endMs -= 7 * 86_400_000;
    }
    const points = (await w.call("GET", `${w.instancePath}/recoveryPoints`)).body as {
      value: Array<{ name: string }>;
    };
    const restored = await restoreAndWait(w, {
      ...w.restoreBody({ account: "pgflexweek", container: "restores-week" }),
      recoveryPointId: points.value[0]?.name,
    });
    expect(restored.status).toBe("Completed");
    const backup = await w.backup();
    expect(backup.errorDetails ?? null, JSON.stringify(backup.errorDetails)).toBeNull();
    expect(backup.status).toBe("Completed");
  });

  it("serves the committed archives where no local PostgreSQL is used", async () => {
    const fallback = await startRestoreWorld(azurite, { localPostgres: false });
    try {
      await fallback.world.emulator.control.invoke("POST", "/storage/accounts", {
        subscriptionId: sub,
        resourceGroupName: storageRg,
        name: "pgflexfallback",
        location: "westeurope",
        allowCrossTenantReplication: true,
        containers: ["restores-fallback"],
      });
      await fallback.blobUrl("pgflexfallback", "restores-fallback");
      fallback.world.grant(BLOB_CONTRIBUTOR, accountId("pgflexfallback"));
      // The spelling some Azure answers use, beside the recorded sub task detail.
      fallback.world.control.configure({ restoreBytesField: "dataTransferedInBytes" } as Parameters<
        DpWorld["control"]["configure"]
      >[0]);
      const backup = await fallback.backup();
      const pointId = (backup.extendedInfo as { targetRecoverPoint: { recoveryPointID: string } })
        .targetRecoverPoint.recoveryPointID;
      const job = await restoreAndWait(fallback, {
        ...fallback.restoreBody({ account: "pgflexfallback", container: "restores-fallback" }),
        recoveryPointId: pointId,
      });
      expect(job.status).toBe("Completed");
      const blobs = await expectRestoredFiles(azurite, "restores-fallback");
      const bytes = [...blobs.values()].reduce((sum, b) => sum + b.length, 0);
      expect(job.extendedInfo.dataTransferedInBytes).toBe(bytes);
      expect(job.extendedInfo.subTasks).toMatchObject([
        { additionalDetails: { DataTransferredInBytes: String(bytes) } },
      ]);
      const restores = await fallback.world.emulator.control.invoke<
        Array<{ source: string; pgDumpVersion: string }>
      >("GET", "/dataprotection/restores");
      expect(restores[0]).toMatchObject({
        source: "committed-archives",
        pgDumpVersion: readManifest(ARCHIVES_DIR)?.pgDumpVersion,
      });
      expect(restores[0]?.pgDumpVersion).toMatch(/^pg_dump \(PostgreSQL\) \d+/u);
      if (!pgRestore) return; // pg_restore not installed: the PGDMP magic is all we can check.
      const orders = [...blobs.entries()].find(([n]) => n.endsWith("_database_orders.sql"))?.[1];
      expect(await pgRestoreList(orders as Buffer)).toContain("TABLE DATA public customers");
    } finally {
      await fallback.stop();
    }
  });
});
