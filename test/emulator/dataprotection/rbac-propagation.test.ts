import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticTokenCredential } from "../../../dev/emulator/index.js";
import { createAuthorizationProvider } from "../../../dev/emulator/providers/authorization/index.js";
import { createPostgresProvider } from "../../../dev/emulator/providers/postgresql/index.js";
import { createDataProtectionProvider } from "../../../dev/emulator/providers/dataprotection/index.js";
import { ROLE_LTR_BACKUP, ROLE_READER } from "../../../dev/emulator/providers/dataprotection/state.js";
import { createArmClients } from "../../../src/lib/azure/clients.js";
import type { ArmClients } from "../../../src/lib/azure/clients.js";
import { isArmRestError } from "../../../src/lib/azure/arm-error.js";
import { aPgFlexPolicy, anInstanceFor, principalId, startWorld, sub, vaultName, vaultRg } from "./helpers.js";
import type { DpWorld } from "./helpers.js";

/** Role assignments made through ARM (the Authorization provider) count only after the propagation delay. */
describe("validateForBackup after granting the vault's roles through ARM", () => {
  let world: DpWorld;
  let clients: ArmClients;
  beforeAll(async () => {
    world = await startWorld({
      timeScale: 1000,
      rbacPropagationDelayInMs: 1_200_000,
      providers: [createDataProtectionProvider(), createAuthorizationProvider(), createPostgresProvider()],
    });
    clients = createArmClients(
      {
        armEndpoint: world.emulator.url,
        armCredential: "emulator",
        azureClientId: undefined,
        timeScale: 1000,
      },
      { credential: staticTokenCredential(), tlsOptions: { ca: world.emulator.caCert } },
    );
    await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  });
  afterAll(async () => world?.stop());

  it("fails with UserErrorMissingRequiredPermissions until the assignments are older than the delay", async () => {
    const serverId = await world.addServer("pg-rbac");
    const rgScope = serverId.replace(/\/providers\/.*$/, "");
    const auth = await clients.authorization(sub);
    const assign = (scope: string, role: string, name: string) =>
      auth.roleAssignments.create(scope, name, {
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
        principalId,
        principalType: "ServicePrincipal",
      });
    await assign(serverId, ROLE_LTR_BACKUP, "6d7e1a52-3f7a-4e1e-9f52-000000000001");
    await assign(rgScope, ROLE_READER, "6d7e1a52-3f7a-4e1e-9f52-000000000002");

    const dp = await clients.dataProtection(sub);
    const validate = async (): Promise<string> => {
      try {
        await dp.backupInstances.beginValidateForBackupAndWait(vaultRg, vaultName, {
          backupInstance: anInstanceFor(serverId).properties!,
        });
        return "Succeeded";
      } catch (e) {
        if (isArmRestError(e)) return String(e.code);
        throw e;
      }
    };
    expect(await validate()).toBe("UserErrorMissingRequiredPermissions");
    let outcome = "";
    for (let i = 0; i < 200 && outcome !== "Succeeded"; i++) {
      outcome = await validate();
      if (outcome !== "Succeeded") await new Promise((r) => setTimeout(r, 20));
    }
    expect(outcome).toBe("Succeeded");
  });
});
