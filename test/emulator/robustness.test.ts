import { request } from "node:https";
import { describe, expect, it } from "vitest";
import { raw, serverPath, useCoreEmulator, SUB_A, ALPHA_DB } from "./helpers.js";

const SERVER = serverPath(SUB_A, "rg-one", "alpha-db");
const ASSIGNMENTS = `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/roleAssignments`;

describe("malformed input never crashes the emulator", () => {
  const emulator = useCoreEmulator({ seed: { servers: [ALPHA_DB] } });

  const cases: Array<[string, string, string | undefined, number]> = [
    ["GET", "/%E0%A4%A?api-version=2025-08-01", undefined, 400],
    ["GET", "/?api-version=2025-08-01", undefined, 404],
    ["GET", "/subscriptions/?api-version=2022-12-01", undefined, 200],
    ["PUT", `${SERVER}?api-version=2025-08-01`, undefined, 400],
    ["PUT", `${SERVER}?api-version=2025-08-01`, "null", 400],
    ["PUT", `${SERVER}?api-version=2025-08-01`, '"text"', 400],
    ["PUT", `${SERVER}?api-version=2025-08-01`, '{"location":42}', 400],
    ["PUT", `${SERVER}?api-version=2025-08-01`, '{"location":"eastus","tags":{"a":1}}', 400],
    ["PATCH", `${SERVER}?api-version=2025-08-01`, '{"properties":"x","tags":[]}', 400],
    ["PUT", `${ASSIGNMENTS}/not-a-guid?api-version=2022-04-01`, "{}", 400],
    ["PUT", `${ASSIGNMENTS}/6a7b8c9d-1111-4222-8333-444455556666?api-version=2022-04-01`, "null", 400],
    [
      "PUT",
      `${ASSIGNMENTS}/6a7b8c9d-1111-4222-8333-444455556666?api-version=2022-04-01`,
      '{"properties":{"roleDefinitionId":5}}',
      400,
    ],
    [
      "GET",
      `${ASSIGNMENTS}?api-version=2022-04-01&$filter=${encodeURIComponent("roleName eq 'x'")}`,
      undefined,
      400,
    ],
    [
      "PUT",
      `${SERVER}/providers/Microsoft.Resources/tags/default?api-version=2021-04-01`,
      '{"properties":{"tags":{"a":{}}}}',
      400,
    ],
    [
      "PUT",
      `/subscriptions/${SUB_A}/resourceGroups/bad%20name%2F?api-version=2021-04-01`,
      '{"location":"eastus"}',
      400,
    ],
    [
      "GET",
      `/subscriptions/${SUB_A}/resourceGroups/${"r".repeat(91)}?api-version=2021-04-01`,
      undefined,
      400,
    ],
  ];

  for (const [method, path, body, status] of cases) {
    it(`answers ${method} ${path.slice(0, 90)} ${body ?? ""} with ${status}`, async () => {
      const response = await raw(emulator, method, path, body === undefined ? {} : { body });
      expect(response.status).toBe(status);
      if (status >= 400) expect(Object.keys(response.body as object)).toEqual(["error"]);
    });
  }

  it("holds a request on an injected timeout until the client gives up", async () => {
    await emulator.control.setFaults({ rules: [{ operation: "Servers_Get", timeoutRate: 1 }] });
    try {
      const outcome = await new Promise<string>((resolve) => {
        const req = request(
          `${emulator.url}${SERVER}?api-version=2025-08-01`,
          { headers: { authorization: "Bearer t" }, ca: emulator.caCert, timeout: 200 },
          () => resolve("answered"),
        );
        req.on("timeout", () => {
          req.destroy();
          resolve("timed out");
        });
        req.on("error", () => resolve("timed out"));
        req.end();
      });
      expect(outcome).toBe("timed out");
    } finally {
      await emulator.control.clearFaults();
    }
    expect((await raw(emulator, "GET", `${SERVER}?api-version=2025-08-01`)).status).toBe(200);
  });
});
