import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { describe, expect, it } from "vitest";
import { raw, serverPath, useCoreEmulator, SUB_A } from "./helpers.js";

// The project's own small schemas (test/fixtures/emulator): these run wherever the official specs are absent.
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "emulator");
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true }));
for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith(".schema.json"))) {
  ajv.addSchema(JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as object);
}
const schema = (name: string): ValidateFunction => {
  const validate = ajv.getSchema(`pgflex-emulator/${name}.schema.json`);
  if (!validate) throw new Error(`no schema ${name}`);
  return validate;
};
const conforms = (name: string, body: unknown): string => {
  const validate = schema(name);
  return validate(body) ? "ok" : ajv.errorsText(validate.errors);
};
const createBody = readFileSync(join(FIXTURES, "create-server.request.json"), "utf8");

describe("emulator responses against the project's fixtures", () => {
  const emulator = useCoreEmulator({ pageSize: 1, timeScale: 1 });
  const path = `${serverPath(SUB_A, "rg-fixtures", "fixture-db")}?api-version=2025-08-01`;

  it("answers a create with 202 and an operation status in the recorded shape", async () => {
    const created = await raw(emulator, "PUT", path, { body: createBody });
    expect(created.status).toBe(202);
    const status = new URL(String(created.headers["azure-asyncoperation"]));
    const body = (await raw(emulator, "GET", `${status.pathname}${status.search}`)).body;
    expect(conforms("operation-status", body)).toBe("ok");
    expect((body as { status: string }).status).toBe("Inprogress");
  });

  it("serves the created server in the shape the product reads, without the password", async () => {
    const server = await raw(emulator, "GET", path);
    expect(conforms("server", server.body)).toBe("ok");
    expect(server.body).toMatchObject({
      location: "westeurope",
      tags: { backup: "weekly", owner: "fixtures" },
      properties: { state: "Provisioning", version: "16", storage: { storageSizeGB: 64 } },
    });
  });

  it("pages the subscription list in the list shape", async () => {
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-fixtures",
      name: "second-db",
      location: "eastus",
    });
    const first = await raw(
      emulator,
      "GET",
      `/subscriptions/${SUB_A}/providers/Microsoft.DBforPostgreSQL/flexibleServers?api-version=2025-08-01`,
    );
    expect(conforms("server-list", first.body)).toBe("ok");
    expect((first.body as { nextLink?: string }).nextLink).toBeDefined();
  });

  it("answers errors in the ARM error shape", async () => {
    const responses = await Promise.all([
      raw(emulator, "GET", `${serverPath(SUB_A, "rg-fixtures", "nope-db")}?api-version=2025-08-01`),
      raw(emulator, "GET", serverPath(SUB_A, "rg-fixtures", "fixture-db")),
      raw(emulator, "GET", path, { bearer: null }),
      raw(emulator, "PUT", path, { body: "{", headers: {} }),
      raw(emulator, "GET", `/subscriptions/${SUB_A}/providers/Microsoft.Nope/things?api-version=2025-08-01`),
    ]);
    expect(responses.map((r) => r.status)).toEqual([404, 400, 401, 400, 404]);
    for (const response of responses) expect(conforms("arm-error", response.body)).toBe("ok");
  });

  it("creates a role assignment in the role assignment shape", async () => {
    const response = await raw(
      emulator,
      "PUT",
      `/subscriptions/${SUB_A}/resourceGroups/rg-fixtures/providers/Microsoft.Authorization/roleAssignments/8c1f6a2e-0b3d-4e5f-9a7b-6c5d4e3f2a1b?api-version=2022-04-01`,
      {
        body: JSON.stringify({
          properties: {
            roleDefinitionId: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            principalId: "2f3e4d5c-6b7a-4980-8a1b-2c3d4e5f6a7b",
            principalType: "ServicePrincipal",
          },
        }),
      },
    );
    expect(response.status).toBe(201);
    expect(conforms("role-assignment", response.body)).toBe("ok");
  });
});
