import { describe, expect, it } from "vitest";
import {
  formatServerId,
  isResourceGroupName,
  isServerName,
  parseServerId,
  resourceGroupScopeOf,
} from "../../src/lib/domain/serverId.js";

const SUB = "11111111-2222-4333-8444-555555555555";
const ID = `/subscriptions/${SUB}/resourcegroups/rg-app/providers/microsoft.dbforpostgresql/flexibleservers/pg-orders`;

describe("parseServerId", () => {
  it("splits a server id in ARM's casing into lower-case parts", () => {
    expect(
      parseServerId(
        ` /subscriptions/${SUB.toUpperCase()}/resourceGroups/RG-App/providers/Microsoft.DBforPostgreSQL/flexibleServers/PG-Orders `,
      ),
    ).toEqual({ resourceId: ID, subscriptionId: SUB, resourceGroup: "rg-app", serverName: "pg-orders" });
  });

  it("is undefined for ids that are not a flexible server's", () => {
    for (const id of [
      `/subscriptions/not-a-guid/resourcegroups/rg/providers/microsoft.dbforpostgresql/flexibleservers/pg`,
      `/subscriptions/${SUB}/resourcegroups/rg./providers/microsoft.dbforpostgresql/flexibleservers/pg-1`,
      `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.dbforpostgresql/flexibleservers/Bad_Name`,
      `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.dbforpostgresql/flexibleservers/-pg`,
      `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.dbforpostgresql/flexibleservers/pg-1/databases/x`,
      `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st1`,
      `/subscriptions/${SUB}/resourcegroups/rg`,
    ]) {
      expect(parseServerId(id), id).toBeUndefined();
    }
  });
});

describe("formatServerId", () => {
  it("builds the lower-case id parseServerId reads back", () => {
    const id = formatServerId({ subscriptionId: SUB, resourceGroup: "RG-App", serverName: "pg-orders" });
    expect(id).toBe(ID);
    expect(parseServerId(id)?.resourceId).toBe(id);
  });
});

describe("resourceGroupScopeOf", () => {
  it("is the resource group that holds the server", () => {
    expect(resourceGroupScopeOf(ID)).toBe(`/subscriptions/${SUB}/resourcegroups/rg-app`);
  });
});

describe("name rules", () => {
  it("accepts resource groups in any casing but not ending in a dot", () => {
    expect(isResourceGroupName("My_RG.(1)")).toBe(true);
    expect(isResourceGroupName("rg.")).toBe(false);
    expect(isResourceGroupName("x".repeat(91))).toBe(false);
  });

  it("accepts server names as ARM creates them: 3-63 lower-case letters, digits and inner hyphens", () => {
    expect(isServerName("pg-1")).toBe(true);
    expect(isServerName("PG-1")).toBe(false);
    expect(isServerName("pg")).toBe(false);
    expect(isServerName("pg-")).toBe(false);
  });
});
