import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, staticTokenCredential, trustEmulatorCertificate } from "../../dev/emulator/index.js";
import type { RunningEmulator } from "../../dev/emulator/index.js";
import { createArmClients } from "../../src/lib/azure/clients.js";

const sub = "11111111-1111-1111-1111-111111111111";

describe("ARM clients against the emulator with every provider", () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ timeScale: 100 });
    // arm-resourcegraph 4 (ms-rest-js) builds its own agent: trust the emulator process-wide in this test file.
    trustEmulatorCertificate(emulator.caCert);
    await emulator.control.createServer({
      subscriptionId: sub,
      resourceGroupName: "rg-db",
      name: "pg-graph",
      location: "westeurope",
      tags: { backup: "weekly" },
    });
  });
  afterAll(async () => emulator?.stop());

  it("reads a server through the PostgreSQL client and finds it through Resource Graph, all paced", async () => {
    const clients = createArmClients(
      { armEndpoint: emulator.url, armCredential: "emulator", azureClientId: undefined },
      { credential: staticTokenCredential(), tlsOptions: { ca: emulator.caCert } },
    );
    const server = await (await clients.postgres(sub)).servers.get("rg-db", "pg-graph");
    expect(server.tags).toEqual({ backup: "weekly" });
    const graph = await clients.resourceGraph();
    const result = await graph.resources({
      subscriptions: [sub],
      query: "Resources | where type =~ 'microsoft.dbforpostgresql/flexibleservers' | project name",
    });
    expect(result.data).toEqual([{ name: "pg-graph" }]);
    expect(clients.pacing.stats().sent).toBe(2);
  });
});
