import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import type { EmulatorSeed, RunningEmulator } from "../../dev/emulator/index.js";
import { raw, useCoreEmulator, type RawResponse } from "./helpers.js";
import {
  HAS_REFERENCE,
  listJson,
  loadSpec,
  readJson,
  REFERENCE_DIR,
  SKIP_REASON,
  withoutNulls,
  type SpecValidator,
} from "./spec.js";

interface Example {
  parameters: Record<string, unknown>;
  responses: Record<string, { headers?: Record<string, string>; body?: unknown }>;
}

interface Case {
  file: string;
  operationId: string;
  example: Example;
}

/** Example file → operationId, from the spec's own `x-ms-examples`. */
function casesOf(specPath: string, exampleDir: string): Case[] {
  const spec = readJson<{
    paths: Record<
      string,
      Record<string, { operationId: string; "x-ms-examples"?: Record<string, { $ref: string }> }>
    >;
  }>(specPath);
  const byFile = new Map<string, string>();
  for (const item of Object.values(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === "parameters") continue;
      for (const ref of Object.values(op["x-ms-examples"] ?? {}))
        byFile.set(basename(ref.$ref), op.operationId);
    }
  }
  return listJson(exampleDir)
    .filter((file) => byFile.has(file))
    .map((file) => ({
      file,
      operationId: byFile.get(file) ?? "",
      example: readJson<Example>(join(exampleDir, file)),
    }));
}

function fill(template: string, parameters: Record<string, unknown>): string {
  return template
    .replace(/\{(\w+)\}/gu, (_, name: string) => String(parameters[name] ?? ""))
    .replace(/^\/+/u, "/");
}

function bodyOf(example: Example): string | undefined {
  const body = Object.values(example.parameters).find((v) => typeof v === "object" && v !== null);
  return body === undefined ? undefined : JSON.stringify(body);
}

/** Sends the example's request: its path parameters filled in, its body if it has one. */
function sendExample(
  emulator: RunningEmulator,
  spec: SpecValidator,
  operationId: string,
  example: Example,
): Promise<RawResponse> {
  const p = example.parameters as Record<string, string>;
  const op = spec.operation(operationId);
  const body = bodyOf(example);
  return raw(
    emulator,
    op.method,
    `${fill(op.path, p)}?api-version=${p["api-version"] ?? ""}`,
    body === undefined ? {} : { body },
  );
}

/** A 404 whose body the operation's declared 404 schema accepts. */
function expectNotFoundConforms(spec: SpecValidator, operationId: string, response: RawResponse): void {
  expect(response.status).toBe(404);
  const validate = spec.response(operationId, 404);
  expect(validate?.(response.body), validate ? spec.errors(validate) : "").toBe(true);
}

function expectConforms(
  spec: SpecValidator,
  operationId: string,
  response: RawResponse,
  example: Example,
): void {
  const declared = Object.keys(spec.operation(operationId).responses).filter((s) => s !== "default");
  expect(declared).toContain(String(response.status));
  expect(Object.keys(example.responses)).toContain(String(response.status));
  for (const header of Object.keys(example.responses[String(response.status)]?.headers ?? {})) {
    expect(response.headers[header.toLowerCase()], `header ${header}`).toBeDefined();
  }
  const validate = spec.response(operationId, response.status);
  if (validate && response.body !== undefined) {
    const valid = validate(withoutNulls(response.body));
    expect(valid, spec.errors(validate)).toBe(true);
  }
}

async function untilDone(emulator: RunningEmulator, response: RawResponse): Promise<void> {
  const header = response.headers["azure-asyncoperation"];
  if (typeof header !== "string") return;
  const url = new URL(header);
  for (let i = 0; i < 500; i += 1) {
    const status = await raw(emulator, "GET", `${url.pathname}${url.search}`);
    if ((status.body as { status: string }).status !== "Inprogress") return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("operation did not finish");
}

describe.skipIf(!HAS_REFERENCE)("conformance with the official specs and examples", () => {
  const emulator = useCoreEmulator({ timeScale: 10_000 });

  describe("Microsoft.DBforPostgreSQL/flexibleServers 2025-08-01", () => {
    const dir = join(REFERENCE_DIR, "postgresql-flexible-2025-08-01");
    const specPath = join(dir, "openapi.flexibleServers-subset.json");
    const spec = HAS_REFERENCE ? loadSpec(specPath) : (undefined as unknown as SpecValidator);
    const cases = HAS_REFERENCE ? casesOf(specPath, dir) : [];

    it("has examples for every operation of the subset", () => {
      expect(new Set(cases.map((c) => c.operationId))).toEqual(
        new Set([
          "Servers_ListBySubscription",
          "Servers_ListByResourceGroup",
          "Servers_Get",
          "Servers_CreateOrUpdate",
          "Servers_Update",
          "Servers_Delete",
        ]),
      );
    });

    for (const { file, operationId, example } of cases) {
      it(`answers ${file} (${operationId}) as the spec says`, async () => {
        const p = example.parameters as Record<string, string>;
        await emulator.control.reset();
        if (operationId !== "Servers_CreateOrUpdate") {
          await emulator.control.createServer({
            subscriptionId: p.subscriptionId ?? "",
            resourceGroupName: p.resourceGroupName ?? "exampleresourcegroup",
            name: p.serverName ?? "exampleserver",
            location: "eastus",
          });
        }
        const response = await sendExample(emulator, spec, operationId, example);
        expectConforms(spec, operationId, response, example);
        const op = spec.operation(operationId);
        if (op.method === "PUT" || op.method === "PATCH") {
          await untilDone(emulator, response);
          const get = await raw(emulator, "GET", `${fill(op.path, p)}?api-version=2025-08-01`);
          const validate = spec.response("Servers_Get", 200);
          expect(get.status).toBe(200);
          expect(validate?.(withoutNulls(get.body)), validate ? spec.errors(validate) : "").toBe(true);
          expect((get.body as { properties: { state: string } }).properties.state).toBe("Ready");
        }
      });
    }

    it("answers a missing server with the spec's error schema", async () => {
      await emulator.control.reset();
      await emulator.control.createServer({
        subscriptionId: "ffffffff-ffff-ffff-ffff-ffffffffffff",
        resourceGroupName: "rg",
        name: "other",
        location: "eastus",
      });
      const response = await raw(
        emulator,
        "GET",
        "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/nope?api-version=2025-08-01",
      );
      expectNotFoundConforms(spec, "Servers_Get", response);
    });
  });

  describe("Microsoft.Authorization/roleAssignments 2022-04-01", () => {
    const dir = join(REFERENCE_DIR, "authorization-2022-04-01");
    const specPath = join(dir, "authorization-RoleAssignmentsCalls.json");
    const spec = HAS_REFERENCE ? loadSpec(specPath) : (undefined as unknown as SpecValidator);
    const cases = HAS_REFERENCE ? casesOf(specPath, dir) : [];

    it("finds the role assignment examples", () => {
      expect(cases.length).toBeGreaterThanOrEqual(5);
    });

    for (const { file, operationId, example } of cases) {
      it(`answers ${file} (${operationId}) as the spec says`, async () => {
        const [status] = Object.keys(example.responses);
        const sample = example.responses[status ?? "200"]?.body as
          | {
              properties?: { roleDefinitionId: string; principalId: string; scope: string };
              name?: string;
              value?: Array<{
                properties: { roleDefinitionId: string; principalId: string; scope: string };
                name: string;
              }>;
            }
          | undefined;
        const existing =
          sample?.value ?? (sample?.properties && !operationId.endsWith("Create") ? [sample] : []);
        const roleGuids = [
          ...existing.map((a) => a.properties?.roleDefinitionId ?? ""),
          String(
            (example.parameters.parameters as { properties?: { roleDefinitionId?: string } } | undefined)
              ?.properties?.roleDefinitionId ?? "",
          ),
        ]
          .map((id) => id.split("/").pop() ?? "")
          .filter(Boolean);
        const seed: EmulatorSeed = {
          roleAssignments: existing.map((a) => ({
            scope: a.properties?.scope ?? "/",
            name: a.name ?? "",
            roleDefinitionId: a.properties?.roleDefinitionId ?? "",
            principalId: a.properties?.principalId ?? "",
            principalType: "User",
          })),
          providers: {
            authorization: {
              customRoleDefinitions: Object.fromEntries(
                roleGuids.map((g) => [g, { roleName: "Example role" }]),
              ),
            },
          },
        };
        await emulator.control.reset();
        await emulator.control.loadState(seed);
        expectConforms(spec, operationId, await sendExample(emulator, spec, operationId, example), example);
      });
    }

    it("answers a missing role assignment with the spec's error schema", async () => {
      const response = await raw(
        emulator,
        "GET",
        "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/providers/Microsoft.Authorization/roleAssignments/b0f43c54-e787-4862-89b1-a653fa9cf747?api-version=2022-04-01",
      );
      expectNotFoundConforms(spec, "RoleAssignments_Get", response);
    });
  });
});

if (!HAS_REFERENCE) {
  describe("conformance with the official specs", () => {
    it.skip(`is skipped: ${SKIP_REASON}`, () => undefined);
  });
}
