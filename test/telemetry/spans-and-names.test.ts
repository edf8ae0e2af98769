import { afterEach, describe, expect, it } from "vitest";
import { armOperationOf } from "../../src/lib/azure/pacing.js";
import { handleApi } from "../../src/lib/http/handler.js";
import type { ApiRequest } from "../../src/lib/http/types.js";
import { noTelemetry, useTelemetry } from "../../src/lib/telemetry/index.js";
import { anInMemoryTelemetry } from "./inMemory.js";

const SUB = "11111111-1111-1111-1111-111111111111";

function aRequest(path: string, params: Record<string, string>): ApiRequest {
  return {
    method: "get",
    url: `https://app.example.net/api/${path}`,
    headers: { get: (name) => (name.toLowerCase() === "x-request-id" ? "req-123" : null) },
    params,
    query: new URLSearchParams(),
    text: () => Promise.resolve(""),
  };
}

afterEach(() => {
  useTelemetry(noTelemetry);
});

describe("API spans", () => {
  it("traces a request as `api <METHOD> <route>` with the request id the API returns", async () => {
    const memory = anInMemoryTelemetry();
    useTelemetry(memory.telemetry);
    const request = aRequest(`servers/${SUB}/rg-app/pg-one/backups`, {
      subscriptionId: SUB,
      resourceGroup: "rg-app",
      serverName: "pg-one",
    });

    const response = await handleApi(
      request,
      { role: "Backup.Reader", authorize: () => Promise.resolve({ id: "tester", roles: [] }) },
      ({ requestId }) => Promise.resolve({ status: 200, jsonBody: { requestId } }),
    );

    const requestId = (response.jsonBody as { requestId: string }).requestId;
    expect(memory.spans().map((s) => [s.name, s.attributes])).toEqual([
      ["api GET servers/{subscriptionId}/{resourceGroup}/{serverName}/backups", { request_id: requestId }],
    ]);
  });

  it("names a catch-all parameter once, however many segments it holds", async () => {
    const memory = anInMemoryTelemetry();
    useTelemetry(memory.telemetry);
    const jobId = `subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v/backupJobs/j1`;

    await handleApi(
      aRequest(`jobs/${jobId}`, { jobId }),
      { role: "Backup.Reader", authorize: () => Promise.resolve({ id: "tester", roles: [] }) },
      () => Promise.resolve({ status: 200 }),
    );

    expect(memory.spans().map((s) => s.name)).toEqual(["api GET jobs/{jobId}"]);
  });
});

describe("ARM operation names", () => {
  it("keeps the provider's resource types and actions, never names or ids", () => {
    const vault = `https://management.azure.com/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv-weu`;
    expect(armOperationOf("PUT", `${vault}/backupInstances/pg-one-bi?api-version=2024-04-01`)).toBe(
      "PUT Microsoft.DataProtection/backupVaults/backupInstances",
    );
    expect(armOperationOf("POST", `${vault}/validateForBackup?api-version=2024-04-01`)).toBe(
      "POST Microsoft.DataProtection/backupVaults/validateForBackup",
    );
    expect(
      armOperationOf("GET", `https://management.azure.com/subscriptions/${SUB}/resourcegroups?x=1`),
    ).toBe("GET resourcegroups");
  });
});
