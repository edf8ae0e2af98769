import { describe, expect, it } from "vitest";
import { raw, serverPath, startCoreEmulator, useCoreEmulator, SUB_A, SUB_B } from "./helpers.js";

const TAGS = "/providers/Microsoft.Resources/tags/default?api-version=2021-04-01";

describe("subscriptions, resource groups and the Tags API", () => {
  const emulator = useCoreEmulator({
    seed: {
      subscriptions: [
        { subscriptionId: SUB_A, displayName: "Production" },
        { subscriptionId: SUB_B, displayName: "Development" },
      ],
      resourceGroups: [
        { subscriptionId: SUB_A, name: "rg-explicit", location: "westeurope", tags: { team: "data" } },
      ],
      servers: [
        {
          subscriptionId: SUB_A,
          resourceGroupName: "rg-implicit",
          name: "alpha-db",
          location: "eastus",
          tags: { keep: "yes" },
        },
      ],
    },
  });

  it("lists the seeded subscriptions", async () => {
    const response = await raw(emulator, "GET", "/subscriptions?api-version=2022-12-01");
    const names = (
      response.body as { value: Array<{ displayName: string; subscriptionId: string }> }
    ).value.map((s) => s.displayName);
    expect(names.sort()).toEqual(["Development", "Production"]);
  });

  it("knows resource groups created explicitly and implicitly by a server", async () => {
    const response = await raw(
      emulator,
      "GET",
      `/subscriptions/${SUB_A}/resourcegroups?api-version=2021-04-01`,
    );
    const groups = (response.body as { value: Array<{ name: string; location: string }> }).value;
    expect(groups.map((g) => [g.name, g.location]).sort()).toEqual([
      ["rg-explicit", "westeurope"],
      ["rg-implicit", "eastus"],
    ]);
  });

  it("answers 400 LocationRequired to a resource group or server PUT without a location", async () => {
    const paths = [
      `/subscriptions/${SUB_A}/resourcegroups/rg-nowhere?api-version=2021-04-01`,
      `${serverPath(SUB_A, "rg-nowhere", "nowhere-db")}?api-version=2025-08-01`,
    ];
    for (const path of paths) {
      const response = await raw(emulator, "PUT", path, { body: JSON.stringify({ tags: {} }) });
      expect([response.status, response.body]).toEqual([
        400,
        {
          error: {
            code: "LocationRequired",
            message: "The location property is required for this definition.",
          },
        },
      ]);
    }
  });

  it("creates a resource group with PUT and answers 404 ResourceGroupNotFound for an unknown one", async () => {
    const created = await raw(
      emulator,
      "PUT",
      `/subscriptions/${SUB_B}/resourceGroups/rg-made?api-version=2021-04-01`,
      {
        body: JSON.stringify({ location: "northeurope" }),
      },
    );
    expect(created.status).toBe(201);
    const missing = await raw(
      emulator,
      "GET",
      `/subscriptions/${SUB_B}/resourceGroups/rg-none?api-version=2021-04-01`,
    );
    expect(missing.body).toEqual({
      error: { code: "ResourceGroupNotFound", message: "Resource group 'rg-none' could not be found." },
    });
  });

  it("replaces a server's tags with PUT on the Tags API", async () => {
    const id = serverPath(SUB_A, "rg-implicit", "alpha-db");
    const response = await raw(emulator, "PUT", `${id}${TAGS}`, {
      body: JSON.stringify({ properties: { tags: { backup: "daily" } } }),
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: `${id}/providers/Microsoft.Resources/tags/default`,
      name: "default",
      type: "Microsoft.Resources/tags",
      properties: { tags: { backup: "daily" } },
    });
    expect(emulator.core.context.servers.get(id)?.tags).toEqual({ backup: "daily" });
  });

  it("merges and deletes tags with PATCH", async () => {
    const id = serverPath(SUB_A, "rg-implicit", "alpha-db");
    await raw(emulator, "PATCH", `${id}${TAGS}`, {
      body: JSON.stringify({ operation: "Merge", properties: { tags: { owner: "me" } } }),
    });
    const deleted = await raw(emulator, "PATCH", `${id}${TAGS}`, {
      body: JSON.stringify({ operation: "Delete", properties: { tags: { backup: "daily" } } }),
    });
    expect((deleted.body as { properties: { tags: Record<string, string> } }).properties.tags).toEqual({
      owner: "me",
    });
  });

  it("rejects an unknown tag patch operation", async () => {
    const response = await raw(
      emulator,
      "PATCH",
      `/subscriptions/${SUB_A}/resourceGroups/rg-explicit${TAGS}`,
      {
        body: JSON.stringify({ operation: "Append", properties: { tags: {} } }),
      },
    );
    expect(response.status).toBe(400);
    expect((response.body as { error: { message: string } }).error.message).toBe(
      "The tag patch operation 'Append' is invalid. Valid operations are 'Replace', 'Merge' and 'Delete'.",
    );
  });

  it("answers 404 for tags of a server that does not exist", async () => {
    const response = await raw(emulator, "GET", `${serverPath(SUB_A, "rg-implicit", "ghost-db")}${TAGS}`);
    expect(response.status).toBe(404);
    expect((response.body as { error: { code: string } }).error.code).toBe("ResourceNotFound");
  });

  it("answers SubscriptionNotFound for unseeded subscriptions when told to know only seeded ones", async () => {
    const strict = await startCoreEmulator({
      knownSubscriptionsOnly: true,
      seed: { subscriptions: [{ subscriptionId: SUB_A }] },
    });
    try {
      const known = await raw(strict, "GET", `/subscriptions/${SUB_A}/resourcegroups?api-version=2021-04-01`);
      expect(known.status).toBe(200);
      const unknown = await raw(
        strict,
        "GET",
        `/subscriptions/${SUB_B}/resourcegroups?api-version=2021-04-01`,
      );
      expect(unknown.body).toEqual({
        error: { code: "SubscriptionNotFound", message: `The subscription '${SUB_B}' could not be found.` },
      });
    } finally {
      await strict.stop();
    }
  });

  it("keeps tags of other resources in the shared tag map", async () => {
    const vault = `/subscriptions/${SUB_A}/resourceGroups/rg-explicit/providers/Microsoft.DataProtection/backupVaults/vault-1`;
    await raw(emulator, "PUT", `${vault}${TAGS}`, {
      body: JSON.stringify({ properties: { tags: { region: "westeurope" } } }),
    });
    const response = await raw(emulator, "GET", `${vault}${TAGS}`);
    expect((response.body as { properties: { tags: Record<string, string> } }).properties.tags).toEqual({
      region: "westeurope",
    });
  });
});
