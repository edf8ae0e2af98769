import { describe, expect, it } from "vitest";
import { createVaultResolver } from "../../src/lib/protection/index.js";
import { roleGuidOf, scopeCovers } from "../../src/lib/azure/roles.js";
import { anArmError, FakeAzure, OTHER_SUB, SUB, VAULT_ID } from "./fakes.js";

describe("vault resolver", () => {
  it("prefers the configured map and reads the vault once within the TTL", async () => {
    const azure = new FakeAzure();
    let t = 0;
    const resolver = createVaultResolver(azure.dataProtectionPort, {
      vaultMap: { westeurope: VAULT_ID },
      markerTag: "pgflex-autoprotect",
      cacheTtlInMs: 1000,
      now: () => t,
    });

    expect((await resolver.resolve("West Europe", SUB))?.id).toBe(VAULT_ID);
    await resolver.resolve("westeurope", SUB);
    expect(azure.count("getVault")).toBe(1);
    t = 1001;
    await resolver.resolve("westeurope", SUB);
    expect(azure.count("getVault")).toBe(2);
    expect(azure.count("listVaults")).toBe(0);
  });

  it("discovers vaults by marker tag (any case) in the server's subscription, per region", async () => {
    const azure = new FakeAzure();
    azure.vaults.push({
      id: VAULT_ID.replace("bv-weu", "bv-neu"),
      name: "bv-neu",
      location: "North Europe",
      principalId: "p",
      tags: { "PGFLEX-AUTOPROTECT": "yes" },
    });
    azure.vaults.push({
      id: VAULT_ID.replace("bv-weu", "bv-untagged"),
      name: "bv-untagged",
      location: "eastus",
      principalId: "p",
      tags: {},
    });
    const resolver = createVaultResolver(azure.dataProtectionPort, {
      vaultMap: {},
      markerTag: "pgflex-autoprotect",
      cacheTtlInMs: 60_000,
    });

    expect((await resolver.resolve("northeurope", SUB))?.name).toBe("bv-neu");
    expect((await resolver.resolve("westeurope", SUB))?.name).toBe("bv-weu");
    expect(await resolver.resolve("eastus", SUB)).toBeUndefined();
    expect(azure.count("listVaults")).toBe(1);
  });

  it("discovers a marked vault in a central backup subscription in scope, listing each subscription once per TTL", async () => {
    const azure = new FakeAzure();
    const central = `/subscriptions/${OTHER_SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-central-neu`;
    azure.vaults = [
      {
        id: central,
        name: "bv-central-neu",
        location: "northeurope",
        principalId: "p",
        tags: { "pgflex-autoprotect": "" },
      },
    ];
    let t = 0;
    const resolver = createVaultResolver(azure.dataProtectionPort, {
      vaultMap: {},
      markerTag: "pgflex-autoprotect",
      scopes: [SUB, OTHER_SUB.toUpperCase()],
      cacheTtlInMs: 1000,
      now: () => t,
    });

    expect((await resolver.resolve("North Europe", SUB))?.id).toBe(central);
    expect(await resolver.resolve("westeurope", SUB)).toBeUndefined();
    expect(azure.calls.map((c) => `${c.op} ${c.target}`).sort()).toEqual([
      `listVaults ${SUB}`,
      `listVaults ${OTHER_SUB}`,
    ]);
    t = 1001;
    await resolver.resolve("northeurope", SUB);
    expect(azure.count("listVaults")).toBe(4);
  });

  it("prefers a marked vault in the server's own subscription over one elsewhere in scope", async () => {
    const azure = new FakeAzure();
    azure.vaults.unshift({
      id: `/subscriptions/${OTHER_SUB}/resourceGroups/rg-a/providers/Microsoft.DataProtection/backupVaults/bv-a-central`,
      name: "bv-a-central",
      location: "westeurope",
      principalId: "p",
      tags: { "pgflex-autoprotect": "" },
    });
    const resolver = createVaultResolver(azure.dataProtectionPort, {
      vaultMap: {},
      markerTag: "pgflex-autoprotect",
      scopes: [OTHER_SUB],
      cacheTtlInMs: 60_000,
    });

    expect((await resolver.resolve("westeurope", SUB))?.id).toBe(VAULT_ID);
    expect((await resolver.resolve("westeurope", "33333333-3333-3333-3333-333333333333"))?.name).toBe(
      "bv-a-central",
    );
  });

  it("does not conclude there is no vault while a subscription in scope cannot be listed", async () => {
    const azure = new FakeAzure();
    const port = azure.dataProtectionPort;
    let failing = true;
    const resolver = createVaultResolver(
      {
        ...port,
        listVaults: (sub, options) => {
          if (failing && sub === OTHER_SUB) {
            return (async function* () {
              yield* [];
              throw anArmError(403, "AuthorizationFailed", "The client may not list vaults.");
            })();
          }
          return port.listVaults(sub, options);
        },
      },
      { vaultMap: {}, markerTag: "pgflex-autoprotect", scopes: [SUB, OTHER_SUB], cacheTtlInMs: 60_000 },
    );

    // Found in a readable subscription: the unreadable one does not matter.
    expect((await resolver.resolve("westeurope", SUB))?.name).toBe("bv-weu");
    await expect(resolver.resolve("northeurope", SUB)).rejects.toThrow("The client may not list vaults.");
    failing = false;
    expect(await resolver.resolve("northeurope", SUB)).toBeUndefined();
  });

  it("does not discover when the marker tag is empty", async () => {
    const azure = new FakeAzure();
    const resolver = createVaultResolver(azure.dataProtectionPort, {
      vaultMap: {},
      markerTag: "",
      cacheTtlInMs: 1,
    });
    expect(await resolver.resolve("westeurope", SUB)).toBeUndefined();
    expect(azure.calls).toEqual([]);
  });
});

describe("role scopes", () => {
  it("counts an assignment at the scope or any parent, never a sibling with a longer name", () => {
    const server =
      "/subscriptions/s/resourcegroups/rg/providers/microsoft.dbforpostgresql/flexibleservers/pg";
    expect(scopeCovers("/subscriptions/s", server)).toBe(true);
    expect(scopeCovers("/subscriptions/S/resourceGroups/RG", server)).toBe(true);
    expect(scopeCovers(server, server)).toBe(true);
    expect(scopeCovers("/", server)).toBe(true);
    expect(scopeCovers("/subscriptions/s/resourcegroups/rg-2", server)).toBe(false);
  });

  it("reads the role GUID from full and shortened role definition ids", () => {
    expect(
      roleGuidOf(
        "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7",
      ),
    ).toBe("acdd72a7-3385-48ef-bd42-f606fba81ae7");
    expect(
      roleGuidOf("/providers/Microsoft.Authorization/roleDefinitions/c088a766-074b-43ba-90d4-1fb21feae531"),
    ).toBe("c088a766-074b-43ba-90d4-1fb21feae531");
  });
});
