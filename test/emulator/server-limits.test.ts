/**
 * What Azure does with PostgreSQL Flexible Servers beyond the API shapes (azure-reference service-facts.md,
 * issue #14 limits 3 and 5): `location` answered as a display name, Data Protection bodies that take the region
 * name only, read replicas refused, backups of servers over 1 TB failing, and Resource Graph projecting the
 * fields that tell them apart.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustEmulatorCertificate } from "../../dev/emulator/index.js";
import { createDataProtectionProvider } from "../../dev/emulator/providers/dataprotection/index.js";
import { createPostgresProvider } from "../../dev/emulator/providers/postgresql/index.js";
import { createResourceGraphProvider } from "../../dev/emulator/providers/resourcegraph/index.js";
import { createResourcesProvider } from "../../dev/emulator/providers/resources/index.js";
import { isArmRestError } from "../../src/lib/azure/arm-error.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { createInventorySource } from "../../src/lib/azure/inventory/armReaders.js";
import type { BackupInstanceResource } from "../../src/lib/azure/dataprotection/models.js";
import {
  aPgFlexPolicy,
  anInstanceFor,
  serverIdOf,
  serverRg,
  startWorld,
  sub,
  vaultName,
  vaultRg,
} from "./dataprotection/helpers.js";
import type { DpWorld } from "./dataprotection/helpers.js";
import { raw } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PG = "api-version=2025-08-01";

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isArmRestError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

describe("PostgreSQL servers Azure Backup treats specially, in the emulator", () => {
  let world: DpWorld;

  beforeAll(async () => {
    world = await startWorld({
      providers: [
        createResourcesProvider,
        createPostgresProvider,
        createDataProtectionProvider(),
        createResourceGraphProvider,
      ],
      seed: {
        servers: [
          // As PostgreSQL answers some servers' location: the display name.
          { subscriptionId: sub, resourceGroupName: serverRg, name: "display-db", location: "West Europe" },
          {
            subscriptionId: sub,
            resourceGroupName: serverRg,
            name: "replica-db",
            location: "westeurope",
            properties: {
              replicationRole: "AsyncReplica",
              replicaCapacity: 0,
              replica: { role: "AsyncReplica", capacity: 0, replicationState: "Active" },
            },
          },
          {
            subscriptionId: sub,
            resourceGroupName: serverRg,
            name: "big-db",
            location: "westeurope",
            storageSizeGB: 2048,
          },
        ],
      },
    });
    trustEmulatorCertificate(world.emulator.caCert);
    await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  });
  afterAll(async () => world?.stop());

  function validate(body: BackupInstanceResource): Promise<string> {
    return failure(
      world.client.backupInstances.beginValidateForBackupAndWait(vaultRg, vaultName, {
        backupInstance: body.properties!,
      }),
    );
  }

  it("answers a seeded display-name location as written and runs the server's operations under the region name", async () => {
    const path = `${serverIdOf("display-db")}?${PG}`;
    const got = await raw(world.emulator, "GET", path);
    expect((got.body as { location: string }).location).toBe("West Europe");
    const patched = await raw(world.emulator, "PATCH", path, { body: JSON.stringify({ tags: { a: "b" } }) });
    expect(patched.status).toBe(202);
    expect(String(patched.headers["azure-asyncoperation"])).toContain(
      `/subscriptions/${sub}/providers/Microsoft.DBforPostgreSQL/locations/westeurope/azureAsyncOperation/`,
    );
    await world.emulator.control.completeOperations();
  });

  it("refuses a display name as the datasource's location in a Data Protection body, naming the region name", async () => {
    const serverId = serverIdOf("display-db");
    world.grantBoth(serverId);
    const body = anInstanceFor(serverId);
    body.properties!.dataSourceInfo.resourceLocation = "West Europe";
    expect(await validate(body)).toBe(
      "UserErrorInvalidRequestParameter: 'backupInstance.dataSourceInfo.resourceLocation' is 'West Europe'; it must be the region name such as 'westeurope', not a display name.",
    );
    expect(await validate(anInstanceFor(serverId))).toBe("no error");
  });

  it("refuses to validate a read replica for backup, as Azure Backup protects primaries only", async () => {
    const serverId = serverIdOf("replica-db");
    world.grantBoth(serverId);
    expect(await validate(anInstanceFor(serverId))).toBe(
      "UserErrorReadReplicaNotSupported: The PostgreSQL Flexible Server 'replica-db' is a read replica (replicationRole 'AsyncReplica'). Backup of read replicas is not supported; configure backup on the primary server.",
    );
  });

  it("protects a server over 1 TB but fails its backup jobs, saying why", async () => {
    const serverId = serverIdOf("big-db");
    world.grantBoth(serverId);
    await world.client.backupInstances.beginCreateOrUpdateAndWait(
      vaultRg,
      vaultName,
      "big-db-bi",
      anInstanceFor(serverId),
    );
    for (let i = 0; i < 400; i++) {
      const bi = await world.client.backupInstances.get(vaultRg, vaultName, "big-db-bi");
      if (bi.properties?.currentProtectionState === "ProtectionConfigured") break;
      await sleep(5);
    }
    const r = await world.client.backupInstances.beginAdhocBackupAndWait(vaultRg, vaultName, "big-db-bi", {
      backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} },
    });
    let status = "InProgress";
    let error: { code?: string; message?: string } | undefined;
    for (let i = 0; i < 500 && status === "InProgress"; i++) {
      const job = await world.client.jobs.get(vaultRg, vaultName, r.jobId);
      status = job.properties?.status ?? "";
      error = job.properties?.errorDetails?.[0];
      if (status === "InProgress") await sleep(5);
    }
    expect(status).toBe("Failed");
    expect(error).toMatchObject({
      code: "UserErrorDatasourceSizeExceedsLimit",
      message:
        "The PostgreSQL Flexible Server 'big-db' has 2048 GB of storage, above the 1024 GB that Azure Backup supports. Backups of servers over 1 TB are not supported.",
    });
  });

  it("creates a read replica (createMode Replica) with the replication role Azure answers", async () => {
    const path = `/subscriptions/${sub}/resourceGroups/${serverRg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/new-replica?${PG}`;
    const put = await raw(world.emulator, "PUT", path, {
      body: JSON.stringify({
        location: "westeurope",
        properties: { createMode: "Replica", sourceServerResourceId: serverIdOf("display-db") },
      }),
    });
    expect(put.status).toBe(202);
    await world.emulator.control.completeOperations();
    const got = (await raw(world.emulator, "GET", path)).body as { properties: Record<string, unknown> };
    expect(got.properties).toMatchObject({
      replicationRole: "AsyncReplica",
      replica: { role: "AsyncReplica", capacity: 0, replicationState: "Active" },
    });
  });

  it("gives the sweep's inventory the replication role and storage size, from Resource Graph and from ARM lists", async () => {
    const clients = createArmClients(
      { armEndpoint: world.emulator.url, armCredential: "emulator", azureClientId: undefined },
      { tlsOptions: { ca: world.emulator.caCert } },
    );
    for (const useResourceGraph of [true, false]) {
      const inventory = createInventorySource(clients, useResourceGraph);
      const snapshot = await inventory.collect({ subscriptionIds: [sub], vaultSubscriptionIds: [sub] });
      const byName = Object.fromEntries(snapshot.servers.map((s) => [s.name, s]));
      expect(byName["replica-db"], `resourceGraph=${useResourceGraph}`).toMatchObject({
        replicationRole: "AsyncReplica",
        storageSizeGB: 128,
      });
      expect(byName["big-db"]).toMatchObject({ replicationRole: "Primary", storageSizeGB: 2048 });
      expect(byName["display-db"]).toMatchObject({ location: "westeurope" });
    }
  });
});
