import { describe, expect, it } from "vitest";
import { createHttpHeaders } from "@azure/core-rest-pipeline";
import type { PipelinePolicy, PipelineRequest } from "@azure/core-rest-pipeline";
import { fakeCredential } from "./fakes.js";
import { createArmClients } from "../../src/lib/azure/clients.js";

const sub = "11111111-1111-1111-1111-111111111111";
const config = {
  armEndpoint: "https://127.0.0.1:9",
  armCredential: "emulator" as const,
  azureClientId: undefined,
};

/** Answers every request itself (after pacing and the deserialization policy), recording the URL: no network. */
function anArmStub(answer: (req: PipelineRequest) => unknown): { policy: PipelinePolicy; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    policy: {
      name: "armStub",
      sendRequest: async (request) => {
        urls.push(request.url);
        return {
          request,
          status: 200,
          headers: createHttpHeaders({ "content-type": "application/json" }),
          bodyAsText: JSON.stringify(answer(request)),
        };
      },
    },
  };
}

describe("createArmClients", () => {
  it("paces at ARM's rates multiplied by PGFLEX_TIME_SCALE", async () => {
    let now = 0;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const stub = anArmStub(() => ({
      properties: { objectType: "BackupPolicy", datasourceTypes: [], policyRules: [] },
    }));
    const clients = createArmClients(
      { ...config, timeScale: 100 },
      {
        credential: fakeCredential,
        pacing: { clock },
        additionalPolicies: [{ policy: stub.policy, position: "perRetry" }],
      },
    );
    const dp = await clients.dataProtection(sub);
    for (let i = 0; i < 210; i++) await dp.backupPolicies.createOrUpdate("rg", "v", `p${i}`, {});
    // 200 writes of burst, then 10 more at 10 × 100 per second: 1 ms each.
    expect(now).toBe(10);
  });

  it("creates each client once and sends every client's requests to the configured endpoint through one pacing policy", async () => {
    const stub = anArmStub((req) =>
      req.url.includes("flexibleServers")
        ? { name: "pg1", location: "westeurope" }
        : { name: "bv-weu", location: "westeurope", properties: { storageSettings: [] } },
    );
    const clients = createArmClients(config, {
      credential: fakeCredential,
      additionalPolicies: [{ policy: stub.policy, position: "perRetry" }],
    });
    expect(await clients.postgres(sub)).toBe(await clients.postgres(sub.toUpperCase()));

    const server = await (await clients.postgres(sub)).servers.get("rg-db", "pg1");
    const vault = await (await clients.dataProtection(sub)).backupVaults.get("rg-backup", "bv-weu");

    expect(server.name).toBe("pg1");
    expect(vault.name).toBe("bv-weu");
    expect(stub.urls.map((u) => new URL(u).origin)).toEqual(["https://127.0.0.1:9", "https://127.0.0.1:9"]);
    expect(clients.pacing.stats().sent).toBe(2);
  });

  it("builds the authorization client on the same pipeline", async () => {
    const stub = anArmStub(() => ({ value: [] }));
    const clients = createArmClients(config, {
      credential: fakeCredential,
      additionalPolicies: [{ policy: stub.policy, position: "perRetry" }],
    });
    const auth = await clients.authorization(sub);
    const found = [];
    for await (const ra of auth.roleAssignments.listForScope(`subscriptions/${sub}/resourceGroups/rg-db`))
      found.push(ra);
    expect(found).toEqual([]);
    expect(stub.urls[0]).toContain(
      `https://127.0.0.1:9/subscriptions/${sub}/resourceGroups/rg-db/providers/Microsoft.Authorization/roleAssignments`,
    );
    expect(clients.pacing.stats().sent).toBe(1);
  });
});
