import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startEmulator,
  trustEmulatorCertificate,
  type RunningEmulator,
} from "../../../dev/emulator/index.js";
import { createPostgresProvider } from "../../../dev/emulator/providers/postgresql/index.js";
import { createResourceGraphProvider } from "../../../dev/emulator/providers/resourcegraph/index.js";
import { createResourcesProvider } from "../../../dev/emulator/providers/resources/index.js";
import { parseQuery, runQuery } from "../../../dev/emulator/providers/resourcegraph/kql.js";
import { createArmClients } from "../../../src/lib/azure/clients.js";
import { ResourceGraphQueries } from "../../../src/lib/azure/inventory/resourceGraph.js";
import {
  createInventorySource,
  createResourceGraphQuery,
} from "../../../src/lib/azure/inventory/armReaders.js";

const SUB_A = "11111111-1111-1111-1111-111111111111";
const SUB_B = "22222222-2222-2222-2222-222222222222";
const vault = `/subscriptions/${SUB_A}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-weu`;
const vaultB = `/subscriptions/${SUB_B}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-b`;

describe("KQL subset", () => {
  const rows = [
    {
      id: "/a",
      type: "microsoft.x/y",
      name: "a",
      properties: { state: "Ready" },
      tags: { backup: "weekly" },
    },
    { id: "/b", type: "Microsoft.X/Z", name: "b", properties: { state: "Stopped" }, tags: {} },
  ];

  it("filters case-insensitively with =~ and projects columns and aliases", () => {
    expect(
      runQuery(
        parseQuery("resources | where type =~ 'MICROSOFT.X/Y' | project id, state = properties.state"),
        rows,
      ),
    ).toEqual([{ id: "/a", state: "Ready" }]);
  });

  it("supports and, in~, startswith, order by and take", () => {
    const q = "resources | where name in~ ('A','b') and id startswith '/' | order by name desc | take 1";
    expect(runQuery(parseQuery(q), rows).map((r) => r.id)).toEqual(["/b"]);
  });

  it("takes an element of what split answers, as Az PowerShell's backup instance query extends vaultName", () => {
    const q =
      "RecoveryServicesResources | extend vaultName = split(split(id, '/Microsoft.DataProtection/backupVaults/')[1],'/')[0]" +
      " | project vaultName, missing = split(name, '/')[3]";
    expect(runQuery(parseQuery(q), [{ id: `${vault}/backupInstances/pg-0-bi`, name: "pg-0-bi" }])).toEqual([
      { vaultName: "bv-weu", missing: null },
    ]);
    expect(() => parseQuery("resources | project x = split(name, '/')['a']")).toThrow(
      "Expected an array index in 'split(name, '/')['a']'.",
    );
  });

  it("rejects what it does not understand, naming it", () => {
    expect(() => parseQuery("resources | summarize count() by type")).toThrow(
      "Unsupported operator 'summarize'.",
    );
    expect(() => parseQuery("resourcecontainers | take 1")).toThrow(
      "Unknown table 'resourcecontainers'. Only 'resources' and 'RecoveryServicesResources' are supported.",
    );
  });
});

describe("Resource Graph provider", () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    const servers = [];
    for (let i = 0; i < 7; i++) {
      servers.push({
        subscriptionId: i < 4 ? SUB_A : SUB_B,
        resourceGroupName: "rg-db",
        name: `pg-${i}`,
        location: "westeurope",
        tags: { backup: "weekly" },
      });
    }
    emulator = await startEmulator({
      providers: [createPostgresProvider, createResourcesProvider, createResourceGraphProvider],
      pageSize: 2,
      seed: {
        subscriptions: [{ subscriptionId: SUB_A }, { subscriptionId: SUB_B }],
        servers,
        // Another provider's slice in whatever layout it likes: the graph finds ARM-shaped resources in it.
        providers: {
          // The Data Protection provider's own record layout: status fields beside `properties`.
          dataprotection: {
            vaults: {},
            policies: {
              [`${vaultB.toLowerCase()}/backuppolicies/pgflex-gold`]: {
                id: `${vaultB}/backupPolicies/pgflex-gold`,
                vaultKey: vaultB.toLowerCase(),
                name: "pgflex-gold",
                properties: {
                  objectType: "BackupPolicy",
                  datasourceTypes: ["Microsoft.DBforPostgreSQL/flexibleServers"],
                },
              },
            },
            jobs: {},
            instances: {
              [`${vaultB.toLowerCase()}/backupinstances/pg-4-bi`]: {
                id: `${vaultB}/backupInstances/pg-4-bi`,
                vaultKey: vaultB.toLowerCase(),
                name: "pg-4-bi",
                properties: {
                  dataSourceInfo: {
                    resourceID: `/subscriptions/${SUB_B}/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-4`,
                  },
                  policyInfo: { policyId: `${vaultB}/backupPolicies/pgflex-gold` },
                },
                datasourceKey: "x",
                protectionStatus: "ProtectionError",
                currentProtectionState: "ProtectionError",
                provisioningState: "Succeeded",
                protectionErrorDetails: {
                  code: "UserErrorMissingRequiredPermissions",
                  message: "Reader is missing",
                },
                createdAt: "2026-11-01T00:00:00Z",
              },
            },
          },
          somedp: {
            vaults: {
              [vault.toLowerCase()]: {
                resource: {
                  id: vault,
                  name: "bv-weu",
                  location: "West Europe",
                  tags: { "pgflex-autoprotect": "" },
                  properties: {},
                },
                instances: [
                  {
                    id: `${vault}/backupInstances/pg-0-bi`,
                    name: "pg-0-bi",
                    properties: {
                      dataSourceInfo: {
                        resourceID: `/subscriptions/${SUB_A}/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-0`,
                      },
                      policyInfo: { policyId: `${vault}/backupPolicies/pgflex-weekly` },
                      protectionStatus: { status: "ProtectionConfigured" },
                      currentProtectionState: "ProtectionConfigured",
                    },
                  },
                ],
              },
            },
          },
        },
      },
    });
    trustEmulatorCertificate(emulator.caCert);
  });

  afterAll(async () => {
    await emulator?.stop();
  });

  const clients = () =>
    createArmClients(
      { armEndpoint: emulator.url, armCredential: "emulator", azureClientId: undefined },
      { tlsOptions: { ca: emulator.caCert } },
    );

  it("answers what @azure/arm-resourcegraph sends, paging with $skipToken and honouring subscriptions", async () => {
    const query = createResourceGraphQuery(clients());
    const first = await query({ query: ResourceGraphQueries.servers, subscriptions: [SUB_B], top: 2 });
    expect(first.data.map((r) => (r as { name: string }).name)).toEqual(["pg-4", "pg-5"]);
    expect(first.skipToken).toBeTruthy();
    const second = await query({
      query: ResourceGraphQueries.servers,
      subscriptions: [SUB_B],
      top: 2,
      skipToken: first.skipToken,
    });
    expect(second).toEqual({
      data: [expect.objectContaining({ name: "pg-6", subscriptionId: SUB_B, tags: { backup: "weekly" } })],
    });
  });

  it("publishes backup instances and policies in RecoveryServicesResources only, vaults and servers in resources only", async () => {
    const query = createResourceGraphQuery(clients());
    const rows = async (kql: string) =>
      (await query({ query: kql, subscriptions: [SUB_A, SUB_B] })).data.map((r) => {
        const row = r as { id: string; type: string; subscriptionId: string };
        return [row.type, row.id.slice(row.id.lastIndexOf("/") + 1), row.subscriptionId];
      });
    const instance = "microsoft.dataprotection/backupvaults/backupinstances";
    const policy = "microsoft.dataprotection/backupvaults/backuppolicies";
    const backupVault = "microsoft.dataprotection/backupvaults";
    const server = "microsoft.dbforpostgresql/flexibleservers";
    // Wherever the emulator keeps them (the Data Protection provider's records or another slice's ARM bodies).
    expect(await rows(`RecoveryServicesResources | where type =~ '${instance}'`)).toEqual([
      [instance, "pg-0-bi", SUB_A],
      [instance, "pg-4-bi", SUB_B],
    ]);
    expect(await rows(`RecoveryServicesResources | where type =~ '${policy}'`)).toEqual([
      [policy, "pgflex-gold", SUB_B],
    ]);
    expect(await rows(`resources | where type =~ '${instance}'`)).toEqual([]);
    expect(await rows(`resources | where type =~ '${policy}'`)).toEqual([]);
    expect(await rows(`resources | where type =~ '${backupVault}'`)).toEqual([
      [backupVault, "bv-weu", SUB_A],
    ]);
    expect(await rows(`RecoveryServicesResources | where type in~ ('${backupVault}', '${server}')`)).toEqual(
      [],
    );
    expect(await rows("resources | where type startswith 'microsoft.dataprotection/'")).toEqual([
      [backupVault, "bv-weu", SUB_A],
    ]);
  });

  it("answers the inventory's instance queries from RecoveryServicesResources", async () => {
    const query = createResourceGraphQuery(clients());
    expect(ResourceGraphQueries.instances).toMatch(/^RecoveryServicesResources \| /);
    expect(ResourceGraphQueries.instancesOf(SUB_A)).toMatch(/^RecoveryServicesResources \| /);
    const page = await query({ query: ResourceGraphQueries.instances, subscriptions: [SUB_A] });
    expect(page.data).toEqual([
      expect.objectContaining({
        id: `${vault}/backupInstances/pg-0-bi`,
        type: "microsoft.dataprotection/backupvaults/backupinstances",
        subscriptionId: SUB_A,
      }),
    ]);
  });

  it("serves the Data Protection provider's instances with their protection status as ARM does", async () => {
    const query = createResourceGraphQuery(clients());
    const page = await query({ query: ResourceGraphQueries.instances, subscriptions: [SUB_B] });
    expect(page.data).toEqual([
      expect.objectContaining({
        id: `${vaultB}/backupInstances/pg-4-bi`,
        properties: expect.objectContaining({
          protectionStatus: {
            status: "ProtectionError",
            errorDetails: { code: "UserErrorMissingRequiredPermissions", message: "Reader is missing" },
          },
          currentProtectionState: "ProtectionError",
        }),
      }),
    ]);
  });

  it("filters instances by their server's subscription for a fanned-out unit", async () => {
    const query = createResourceGraphQuery(clients());
    const ids = async (sub: string) =>
      (await query({ query: ResourceGraphQueries.instancesOf(sub), subscriptions: [SUB_A, SUB_B] })).data.map(
        (r) => (r as { name: string }).name,
      );
    expect(await ids(SUB_A)).toEqual(["pg-0-bi"]);
    expect(await ids(SUB_B)).toEqual(["pg-4-bi"]);
  });

  it("answers 400 InvalidQuery for KQL outside the subset", async () => {
    const query = createResourceGraphQuery(clients());
    await expect(query({ query: "resources | summarize count()" })).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  it("feeds the inventory with one query per resource kind across all subscriptions, growing with pages only", async () => {
    const c = clients();
    const source = createInventorySource(c, true);
    await emulator.control.clearRequests();
    const snap = await source.collect({ subscriptionIds: [SUB_A, SUB_B], vaultSubscriptionIds: [SUB_A] });
    expect(snap.servers).toHaveLength(7);
    expect(snap.servers[0]).toEqual({
      id: `/subscriptions/${SUB_A}/resourcegroups/rg-db/providers/microsoft.dbforpostgresql/flexibleservers/pg-0`,
      name: "pg-0",
      subscriptionId: SUB_A,
      resourceGroup: "rg-db",
      location: "westeurope",
      tags: { backup: "weekly" },
      state: "Ready",
      replicationRole: "Primary",
      storageSizeGB: 128,
    });
    expect(snap.vaults.map((v) => v.id)).toEqual([vault.toLowerCase()]);
    expect(snap.instances).toMatchObject([
      {
        datasourceId: `/subscriptions/${SUB_A}/resourcegroups/rg-db/providers/microsoft.dbforpostgresql/flexibleservers/pg-0`,
        policyName: "pgflex-weekly",
      },
    ]);
    // Job histories come from Resource Graph too (none here); without a Data Protection provider the vault's
    // policies cannot be listed: a failure, not a crash.
    expect(snap.failures.map((f) => [f.scope, f.target])).toEqual([["vault", vault.toLowerCase()]]);
    const requests = await emulator.control.getRequests();
    expect(requests.filter((r) => /resourcegraph/i.test(r.path))).toHaveLength(4);
    expect(requests.filter((r) => /backupjobs/i.test(r.path))).toEqual([]);
  });

  it("lists subscriptions for sweeps without configured scopes", async () => {
    const source = createInventorySource(clients(), false);
    expect(await source.listSubscriptions()).toEqual([SUB_A, SUB_B]);
  });
});
