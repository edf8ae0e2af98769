import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  emulatorClientOptions,
  staticTokenCredential,
  type RunningEmulator,
} from "../../dev/emulator/index.js";
import { raw, serverPath, startCoreEmulator, SUB_A, ALPHA_DB } from "./helpers.js";

const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const LTR_BACKUP = "c088a766-074b-43ba-90d4-1fb21feae531";
const BACKUP_CONTRIBUTOR = "5e467623-bb1f-42f4-a55d-6e525e11384b";
const USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
const VAULT_PRINCIPAL = "0d4b7c1e-8f2a-4e6b-9c3d-5a1f2e3b4c5d";
const OTHER_PRINCIPAL = "7e6d5c4b-3a2f-4e1d-8c0b-9a8f7e6d5c4b";
const RG_SCOPE = `/subscriptions/${SUB_A}/resourceGroups/rg-one`;
const SERVER_SCOPE = serverPath(SUB_A, "rg-one", "alpha-db");

function jwtFor(oid: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none" })}.${part({ oid, exp: Math.floor(Date.now() / 1000) + 3600 })}.sig`;
}

describe("role assignments through @azure/arm-authorization", () => {
  let emulator: RunningEmulator;
  let client: AuthorizationManagementClient;

  beforeAll(async () => {
    emulator = await startCoreEmulator({
      rbacPropagationDelayInMs: 0,
      seed: {
        servers: [ALPHA_DB],
        roleAssignments: [
          { scope: `/subscriptions/${SUB_A}`, roleDefinitionId: READER, principalId: VAULT_PRINCIPAL },
        ],
      },
    });
    client = new AuthorizationManagementClient(
      staticTokenCredential(),
      SUB_A,
      emulatorClientOptions(emulator),
    );
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it("creates, gets and lists a role assignment at resource-group scope", async () => {
    const name = "1a2b3c4d-1111-4222-8333-444455556666";
    const created = await client.roleAssignments.create(RG_SCOPE, name, {
      roleDefinitionId: `/subscriptions/${SUB_A}/providers/Microsoft.Authorization/roleDefinitions/${BACKUP_CONTRIBUTOR}`,
      principalId: VAULT_PRINCIPAL,
      principalType: "ServicePrincipal",
    });
    expect(created.id).toBe(`${RG_SCOPE}/providers/Microsoft.Authorization/roleAssignments/${name}`);
    expect(created.scope).toBe(RG_SCOPE);
    const fetched = await client.roleAssignments.get(RG_SCOPE, name);
    expect(fetched.principalId).toBe(VAULT_PRINCIPAL);
    const atScope: string[] = [];
    for await (const a of client.roleAssignments.listForScope(RG_SCOPE, { filter: "atScope()" }))
      atScope.push(a.roleDefinitionId ?? "");
    expect(atScope.map((id) => id.split("/").pop()).sort()).toEqual([BACKUP_CONTRIBUTOR, READER].sort());
  });

  it("filters by principalId", async () => {
    const found: string[] = [];
    for await (const a of client.roleAssignments.listForScope(`/subscriptions/${SUB_A}`, {
      filter: `principalId eq '${OTHER_PRINCIPAL}'`,
    })) {
      found.push(a.name ?? "");
    }
    expect(found).toEqual([]);
  });

  it("honours inheritance from subscription and resource-group scope in hasRole", () => {
    const rbac = emulator.core.context.rbac;
    expect(rbac.hasRole(VAULT_PRINCIPAL, READER, SERVER_SCOPE)).toBe(true);
    expect(rbac.hasRole(VAULT_PRINCIPAL, BACKUP_CONTRIBUTOR, SERVER_SCOPE.toUpperCase())).toBe(true);
    expect(rbac.hasRole(VAULT_PRINCIPAL, LTR_BACKUP, SERVER_SCOPE)).toBe(false);
    expect(rbac.hasRole(OTHER_PRINCIPAL, READER, SERVER_SCOPE)).toBe(false);
    expect(
      rbac.hasRole(VAULT_PRINCIPAL, BACKUP_CONTRIBUTOR, `/subscriptions/${SUB_A}/resourceGroups/rg-one-more`),
    ).toBe(false);
  });

  it("answers 409 RoleAssignmentExists for the same principal, role and scope under another name", async () => {
    await expect(
      client.roleAssignments.create(RG_SCOPE, "9f8e7d6c-1111-4222-8333-444455556666", {
        roleDefinitionId: BACKUP_CONTRIBUTOR,
        principalId: VAULT_PRINCIPAL,
        principalType: "ServicePrincipal",
      }),
    ).rejects.toMatchObject({
      statusCode: 409,
      code: "RoleAssignmentExists",
      message: "The role assignment already exists.",
    });
  });

  it("rejects an unknown role definition", async () => {
    await expect(
      client.roleAssignments.create(SERVER_SCOPE, "2b3c4d5e-1111-4222-8333-444455556666", {
        roleDefinitionId: "00000000-0000-4000-8000-000000000000",
        principalId: VAULT_PRINCIPAL,
      }),
    ).rejects.toMatchObject({ statusCode: 400, code: "RoleDefinitionDoesNotExist" });
  });

  it("forbids a caller without User Access Administrator from granting roles", async () => {
    const path = `${SERVER_SCOPE}/providers/Microsoft.Authorization/roleAssignments/3c4d5e6f-1111-4222-8333-444455556666?api-version=2022-04-01`;
    const body = JSON.stringify({
      properties: { roleDefinitionId: LTR_BACKUP, principalId: VAULT_PRINCIPAL },
    });
    const denied = await raw(emulator, "PUT", path, { body, bearer: jwtFor(OTHER_PRINCIPAL) });
    expect(denied.status).toBe(403);
    expect((denied.body as { error: { code: string } }).error.code).toBe("AuthorizationFailed");
    await client.roleAssignments.create(RG_SCOPE, "4d5e6f70-1111-4222-8333-444455556666", {
      roleDefinitionId: USER_ACCESS_ADMIN,
      principalId: OTHER_PRINCIPAL,
    });
    const allowed = await raw(emulator, "PUT", path, { body, bearer: jwtFor(OTHER_PRINCIPAL) });
    expect(allowed.status).toBe(201);
  });

  it("deletes a role assignment, and deleting again answers 204", async () => {
    const name = "5e6f7081-1111-4222-8333-444455556666";
    await client.roleAssignments.create(SERVER_SCOPE, name, {
      roleDefinitionId: READER,
      principalId: OTHER_PRINCIPAL,
    });
    const deleted = await client.roleAssignments.delete(SERVER_SCOPE, name);
    expect(deleted.name).toBe(name);
    const again = await raw(
      emulator,
      "DELETE",
      `${SERVER_SCOPE}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`,
    );
    expect(again.status).toBe(204);
  });

  it("applies the RBAC propagation delay before hasRole sees a new assignment", async () => {
    const delayed = await startCoreEmulator({ timeScale: 1, rbacPropagationDelayInMs: 3_600_000 });
    try {
      const response = await raw(
        delayed,
        "PUT",
        `${RG_SCOPE}/providers/Microsoft.Authorization/roleAssignments/6f708192-1111-4222-8333-444455556666?api-version=2022-04-01`,
        {
          body: JSON.stringify({
            properties: { roleDefinitionId: LTR_BACKUP, principalId: VAULT_PRINCIPAL },
          }),
        },
      );
      expect(response.status).toBe(201);
      expect(delayed.core.context.rbac.hasRole(VAULT_PRINCIPAL, LTR_BACKUP, SERVER_SCOPE)).toBe(false);
    } finally {
      await delayed.stop();
    }
  });
});
