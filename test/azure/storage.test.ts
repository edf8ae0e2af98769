import { describe, expect, it } from "vitest";
import { createHttpHeaders } from "@azure/core-rest-pipeline";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { BlobServiceClient } from "@azure/storage-blob";
import { useAzurite } from "../support/azurite.js";
import { fakeCredential } from "./fakes.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { createStorageOperations, parseStorageTargetId } from "../../src/lib/azure/storage.js";

const sub = "11111111-1111-1111-1111-111111111111";
const account = `/subscriptions/${sub}/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/strestore`;

describe("restore targets in Azure Storage", () => {
  it("tells a container id from an account id, in canonical casing, and rejects anything else", () => {
    expect(
      parseStorageTargetId(`${account.toUpperCase()}/blobServices/default/containers/Restores/`),
    ).toEqual({
      kind: "container",
      subscriptionId: sub,
      resourceGroupName: "RG-RESTORE",
      accountName: "strestore",
      accountId: `/subscriptions/${sub}/resourceGroups/RG-RESTORE/providers/Microsoft.Storage/storageAccounts/strestore`,
      containerName: "restores",
      containerId: `/subscriptions/${sub}/resourceGroups/RG-RESTORE/providers/Microsoft.Storage/storageAccounts/strestore/blobServices/default/containers/restores`,
    });
    expect(parseStorageTargetId(account)?.kind).toBe("account");
    expect(parseStorageTargetId(`${account}/fileServices/default/shares/x`)).toBeUndefined();
    expect(parseStorageTargetId("https://strestore.blob.core.windows.net/restores")).toBeUndefined();
  });

  it("reads the account's two settings and blob endpoint through @azure/arm-storage on the shared pacer", async () => {
    const urls: string[] = [];
    const stub: PipelinePolicy = {
      name: "armStub",
      sendRequest: async (request) => {
        urls.push(request.url);
        return {
          request,
          status: 200,
          headers: createHttpHeaders({ "content-type": "application/json" }),
          bodyAsText: JSON.stringify({
            id: account,
            name: "strestore",
            location: "westeurope",
            properties: {
              allowCrossTenantReplication: false,
              publicNetworkAccess: "Enabled",
              primaryEndpoints: { blob: "https://strestore.blob.core.windows.net" },
            },
          }),
        };
      },
    };
    const clients = createArmClients(
      { armEndpoint: "https://127.0.0.1:9", armCredential: "emulator", azureClientId: undefined },
      { credential: fakeCredential, additionalPolicies: [{ policy: stub, position: "perRetry" }] },
    );
    const info = await createStorageOperations(clients).getAccount(account);
    expect(info).toEqual({
      id: account,
      name: "strestore",
      location: "westeurope",
      allowCrossTenantReplication: false,
      publicNetworkAccess: "Enabled",
      blobEndpoint: "https://strestore.blob.core.windows.net/",
    });
    expect(new URL(urls[0] ?? "").pathname).toBe(
      "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/strestore",
    );
    expect(new URL(urls[0] ?? "").searchParams.get("api-version")).toBe("2025-06-01");
    expect(clients.pacing.stats().sent).toBe(1);
  });
});

describe("listing a restore container's blobs", () => {
  const azurite = useAzurite();

  it("lists a loopback (Azurite) container with the local connection's key: names, sizes, creation times", async () => {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      "restores",
    );
    await container.createIfNotExists();
    await container.getBlockBlobClient("g_database_orders.sql").upload("PGDMP-data", 10);
    const clients = createArmClients(
      {
        armEndpoint: "https://127.0.0.1:9",
        armCredential: "emulator",
        azureClientId: undefined,
        storageConnection: azurite.connectionString,
      },
      { credential: fakeCredential },
    );
    const blobs = [];
    for await (const b of createStorageOperations(clients).listBlobs(`${azurite.blobEndpoint}/restores`))
      blobs.push(b);
    expect(blobs).toEqual([
      { name: "g_database_orders.sql", sizeInBytes: 10, createdOn: expect.stringMatching(/^\d{4}-/) },
    ]);
  });
});
