import type { PostgreSQLManagementFlexibleServerClient } from "@azure/arm-postgresql-flexible";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../dev/emulator/index.js";
import { raw, serverPath, startCoreEmulator, SUB_A, SUB_B, postgresClient } from "./helpers.js";

const POLL = { updateIntervalInMs: 5 };

interface Poller<T> {
  pollUntilDone(): Promise<T>;
}

describe("PostgreSQL flexible servers through @azure/arm-postgresql-flexible", () => {
  let emulator: RunningEmulator;
  let client: PostgreSQLManagementFlexibleServerClient;

  beforeAll(async () => {
    // Real-time clock: operations stay in their transient state until the test completes them.
    emulator = await startCoreEmulator({
      timeScale: 1,
      provisioningDelayInMs: 60_000,
      pageSize: 2,
      seed: {
        servers: [
          {
            subscriptionId: SUB_A,
            resourceGroupName: "rg-one",
            name: "seeded-1",
            location: "eastus",
            tags: { backup: "daily" },
          },
          { subscriptionId: SUB_A, resourceGroupName: "rg-one", name: "seeded-2", location: "eastus" },
          { subscriptionId: SUB_A, resourceGroupName: "rg-two", name: "seeded-3", location: "westeurope" },
          { subscriptionId: SUB_B, resourceGroupName: "rg-b", name: "other-sub", location: "northeurope" },
        ],
      },
    });
    client = postgresClient(emulator);
  });
  afterAll(async () => {
    await emulator.stop();
  });

  /** Finishes the emulator's running operations, then lets the SDK poller see it. */
  async function finish<T>(poller: Poller<T>): Promise<T> {
    await emulator.control.completeOperations();
    return poller.pollUntilDone();
  }

  it("creates a server as a long-running operation that goes from Provisioning to Ready", async () => {
    const poller = await client.servers.beginCreateOrUpdate(
      "rg-new",
      "created-db",
      {
        location: "eastus",
        sku: { name: "Standard_D4ds_v5", tier: "GeneralPurpose" },
        version: "16",
        storage: { storageSizeGB: 256 },
        administratorLogin: "admin1",
        administratorLoginPassword: "secret-password",
        tags: { backup: "weekly" },
      },
      POLL,
    );
    const during = await client.servers.get("rg-new", "created-db");
    expect(during.state).toBe("Provisioning");
    const created = await finish(poller);
    expect(created.state).toBe("Ready");
    expect(created.fullyQualifiedDomainName).toBe("created-db.postgres.database.azure.com");
    expect(created.version).toBe("16");
    expect(created.storage?.storageSizeGB).toBe(256);
    expect(created.tags).toEqual({ backup: "weekly" });
    expect(created.id).toBe(serverPath(SUB_A, "rg-new", "created-db"));
  });

  it("never returns the administrator password", async () => {
    const response = await raw(
      emulator,
      "GET",
      `${serverPath(SUB_A, "rg-new", "created-db")}?api-version=2025-08-01`,
    );
    expect(response.text).not.toContain("secret-password");
  });

  it("gets a server whatever the casing of its id", async () => {
    const response = await raw(
      emulator,
      "GET",
      `${serverPath(SUB_A, "RG-ONE", "SEEDED-1").replace("resourceGroups", "RESOURCEGROUPS").replace("flexibleServers", "FLEXIBLESERVERS")}?api-version=2025-08-01`,
    );
    expect(response.status).toBe(200);
    expect((response.body as { name: string }).name).toBe("seeded-1");
  });

  it("lists by subscription across pages through nextLink", async () => {
    const names: string[] = [];
    for await (const server of client.servers.listBySubscription()) names.push(server.name ?? "");
    expect(names.sort()).toEqual(["created-db", "seeded-1", "seeded-2", "seeded-3"]);
  });

  it("lists by resource group", async () => {
    const names: string[] = [];
    for await (const server of client.servers.listByResourceGroup("rg-one")) names.push(server.name ?? "");
    expect(names.sort()).toEqual(["seeded-1", "seeded-2"]);
  });

  it("updates tags and storage with PATCH and returns to Ready", async () => {
    const poller = await client.servers.beginUpdate(
      "rg-one",
      "seeded-2",
      { tags: { backup: "monthly" }, storage: { storageSizeGB: 512 } },
      POLL,
    );
    expect((await client.servers.get("rg-one", "seeded-2")).state).toBe("Updating");
    const updated = await finish(poller);
    expect(updated.tags).toEqual({ backup: "monthly" });
    expect(updated.storage?.storageSizeGB).toBe(512);
    expect(updated.state).toBe("Ready");
  });

  it("stops and starts a server through Stopping, Stopped and Starting", async () => {
    const stopping = await client.servers.beginStop("rg-one", "seeded-1", POLL);
    expect((await client.servers.get("rg-one", "seeded-1")).state).toBe("Stopping");
    await finish(stopping);
    expect((await client.servers.get("rg-one", "seeded-1")).state).toBe("Stopped");
    await expect(client.servers.beginRestartAndWait("rg-one", "seeded-1", POLL)).rejects.toMatchObject({
      statusCode: 409,
      code: "InvalidServerState",
      message: "Operation 'restart' is not allowed when the server is in state 'Stopped'.",
    });
    await finish(await client.servers.beginStart("rg-one", "seeded-1", POLL));
    expect((await client.servers.get("rg-one", "seeded-1")).state).toBe("Ready");
  });

  it("deletes a server through Dropping and forgets it", async () => {
    const deleting = await client.servers.beginDelete("rg-two", "seeded-3", POLL);
    expect((await client.servers.get("rg-two", "seeded-3")).state).toBe("Dropping");
    await finish(deleting);
    await expect(client.servers.get("rg-two", "seeded-3")).rejects.toMatchObject({
      statusCode: 404,
      code: "ResourceNotFound",
      message:
        "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/seeded-3' under resource group 'rg-two' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    });
  });

  it("answers ResourceGroupNotFound for a server in an unknown resource group", async () => {
    await expect(client.servers.get("rg-missing", "x-db")).rejects.toMatchObject({
      statusCode: 404,
      code: "ResourceGroupNotFound",
    });
  });

  it("rejects a server name of the wrong shape with InvalidResourceName", async () => {
    const response = await raw(
      emulator,
      "PUT",
      `${serverPath(SUB_A, "rg-one", "Bad_Name")}?api-version=2025-08-01`,
      {
        body: JSON.stringify({ location: "eastus" }),
      },
    );
    expect(response.status).toBe(400);
    expect((response.body as { error: { code: string } }).error.code).toBe("InvalidResourceName");
  });

  it("refuses a second write while the server is provisioning", async () => {
    const body = JSON.stringify({ location: "eastus" });
    const path = `${serverPath(SUB_A, "rg-one", "busy-db")}?api-version=2025-08-01`;
    expect((await raw(emulator, "PUT", path, { body })).status).toBe(202);
    const second = await raw(emulator, "PUT", path, { body });
    expect(second.status).toBe(409);
    expect(second.body).toEqual({
      error: {
        code: "AnotherOperationInProgress",
        message: "An operation is in progress on server 'busy-db'. Please retry after it completes.",
      },
    });
  });

  it("serves operation status as Inprogress then Succeeded with base64 operation ids", async () => {
    const slow = await startCoreEmulator({ timeScale: 1, provisioningDelayInMs: 60_000 });
    try {
      const response = await raw(
        slow,
        "PUT",
        `${serverPath(SUB_A, "rg-one", "slow-db")}?api-version=2025-08-01`,
        {
          body: JSON.stringify({ location: "eastus" }),
        },
      );
      expect(response.status).toBe(202);
      const statusUrl = new URL(String(response.headers["azure-asyncoperation"]));
      expect(String(response.headers.location)).toContain(
        "/providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/",
      );
      const operationId = statusUrl.pathname.split("/").pop() ?? "";
      expect(Buffer.from(operationId, "base64").toString("utf8")).toMatch(/^[0-9a-f-]{36};[0-9a-f-]{36}$/u);
      const status = await raw(slow, "GET", `${statusUrl.pathname}${statusUrl.search}`);
      expect(status.body).toMatchObject({
        name: operationId,
        status: "Inprogress",
        endTime: "0001-01-01T00:00:00Z",
      });
      const result = await raw(
        slow,
        "GET",
        new URL(String(response.headers.location)).pathname + "?api-version=2025-08-01",
      );
      expect(result.status).toBe(202);
    } finally {
      await slow.stop();
    }
  });
});
