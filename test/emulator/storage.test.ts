import { StorageManagementClient } from "@azure/arm-storage";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type AzuriteHandle } from "../../dev/azurite/index.js";
import {
  emulatorClientOptions,
  startEmulator,
  staticTokenCredential,
  type RunningEmulator,
} from "../../dev/emulator/index.js";
import createAuthorizationProvider from "../../dev/emulator/providers/authorization/index.js";
import createStorageProvider from "../../dev/emulator/providers/storage/index.js";
import { raw } from "./helpers.js";

const SUB = "33333333-3333-4333-8333-333333333333";
const RG = "rg-restores";

describe("Microsoft.Storage through @azure/arm-storage, blobs in Azurite", () => {
  let azurite: AzuriteHandle;
  let emulator: RunningEmulator;
  let client: StorageManagementClient;

  beforeAll(async () => {
    azurite = await startAzurite();
    emulator = await startEmulator({
      port: 0,
      timeScale: 1000,
      providers: [createStorageProvider, createAuthorizationProvider],
      blobConnectionString: azurite.connectionString,
      seed: {
        providers: {
          storage: {
            accounts: {
              seeded: {
                subscriptionId: SUB,
                resourceGroupName: RG,
                name: "pgflexseeded",
                location: "eastus",
                allowCrossTenantReplication: true,
                containers: ["seeded-restores"],
              },
            },
          },
        },
      },
    });
    client = new StorageManagementClient(staticTokenCredential(), SUB, {
      ...emulatorClientOptions(emulator),
      updateIntervalInMs: 5,
    } as ConstructorParameters<typeof StorageManagementClient>[2]);
  }, 60_000);
  afterAll(async () => {
    await emulator?.stop();
    await azurite?.stop();
  });

  it("creates an account whose blob endpoint is the local Azurite, and changes the settings a restore needs", async () => {
    const created = await client.storageAccounts.beginCreateAndWait(RG, "pgflexrestores", {
      location: "eastus",
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
    });
    // New accounts disallow cross-tenant replication, as Azure's do now.
    expect(created.allowCrossTenantReplication).toBe(false);
    expect(created.primaryEndpoints?.blob).toBe(`${azurite.blobEndpoint}/`);
    const updated = await client.storageAccounts.update(RG, "pgflexrestores", {
      allowCrossTenantReplication: true,
      publicNetworkAccess: "Disabled",
    });
    expect([updated.allowCrossTenantReplication, updated.publicNetworkAccess]).toEqual([true, "Disabled"]);
    expect((await client.storageAccounts.getProperties(RG, "pgflexrestores")).publicNetworkAccess).toBe(
      "Disabled",
    );
  });

  it("creates a blob container in ARM and in Azurite", async () => {
    await client.storageAccounts.beginCreateAndWait(RG, "pgflexcontainers", {
      location: "eastus",
      kind: "StorageV2",
      sku: { name: "Standard_LRS" },
    });
    const container = await client.blobContainers.create(RG, "pgflexcontainers", "restores", {});
    expect(container.id).toBe(
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/pgflexcontainers/blobServices/default/containers/restores`,
    );
    expect((await client.blobContainers.get(RG, "pgflexcontainers", "restores")).name).toBe("restores");
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    expect(await blobs.getContainerClient("restores").exists()).toBe(true);
  });

  it("loads seeded accounts with their containers, in Azurite too", async () => {
    const seeded = await client.storageAccounts.getProperties(RG, "pgflexseeded");
    expect(seeded.allowCrossTenantReplication).toBe(true);
    const containers: string[] = [];
    for await (const c of client.blobContainers.list(RG, "pgflexseeded")) containers.push(c.name ?? "");
    expect(containers).toEqual(["seeded-restores"]);
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    for (let i = 0; i < 100 && !(await blobs.getContainerClient("seeded-restores").exists()); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await blobs.getContainerClient("seeded-restores").exists()).toBe(true);
  });

  it("takes role assignments on a container scope", async () => {
    const scope = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/pgflexseeded/blobServices/default/containers/seeded-restores`;
    const r = await raw(
      emulator,
      "PUT",
      `${scope}/providers/Microsoft.Authorization/roleAssignments/7f0c2a8e-3b1d-4e5f-8a9b-0c1d2e3f4a5b?api-version=2022-04-01`,
      {
        body: JSON.stringify({
          properties: {
            roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe`,
            principalId: "0e1d5c3a-7b2f-4c61-9a8e-3f4b5c6d7e01",
            principalType: "ServicePrincipal",
          },
        }),
      },
    );
    expect(r.status).toBe(201);
    expect(
      emulator.core.context.rbac.hasRole(
        "0e1d5c3a-7b2f-4c61-9a8e-3f4b5c6d7e01",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        scope,
      ),
    ).toBe(true);
  });

  it("refuses an account name Azure refuses", async () => {
    await expect(
      client.storageAccounts.beginCreateAndWait(RG, "Not_Valid", {
        location: "eastus",
        kind: "StorageV2",
        sku: { name: "Standard_LRS" },
      }),
    ).rejects.toMatchObject({ code: "AccountNameInvalid" });
  });
});

describe("the demo estate's restore target", () => {
  it("is an account allowing cross-tenant replication, with its container in the stack's Azurite", async () => {
    const azurite = await startAzurite();
    const emulator = await startEmulator({
      port: 0,
      seed: "dev/emulator/seeds/demo-estate.json",
      blobConnectionString: azurite.connectionString,
    });
    try {
      const client = new StorageManagementClient(
        staticTokenCredential(),
        "11111111-1111-4111-8111-111111111111",
        emulatorClientOptions(emulator) as ConstructorParameters<typeof StorageManagementClient>[2],
      );
      const account = await client.storageAccounts.getProperties("rg-backup", "pgflexrestoresdemo");
      expect(account).toMatchObject({
        allowCrossTenantReplication: true,
        publicNetworkAccess: "Enabled",
        primaryEndpoints: { blob: `${azurite.blobEndpoint}/` },
      });
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
        "pgflex-restores",
      );
      for (let i = 0; i < 100 && !(await container.exists()); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await container.exists()).toBe(true);
    } finally {
      await emulator.stop();
      await azurite.stop();
    }
  });
});
