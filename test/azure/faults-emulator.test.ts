import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticTokenCredential } from "../../dev/emulator/index.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import type { DataProtectionClient } from "../../src/lib/azure/dataprotection/client.js";
import { isArmRestError } from "../../src/lib/azure/arm-error.js";
import {
  aPgFlexPolicy,
  anInstanceFor,
  serverIdOf,
  startWorld,
  sub,
  vaultName,
  vaultRg,
} from "../emulator/dataprotection/helpers.js";
import type { DpWorld } from "../emulator/dataprotection/helpers.js";

/** Injected 5xx and connection resets: idempotent calls are retried, POST actions are not. */
describe("retries against the emulator's injected faults", () => {
  let world: DpWorld;
  let dp: DataProtectionClient;
  beforeAll(async () => {
    world = await startWorld({ timeScale: 1000 });
    const clients = createArmClients(
      {
        armEndpoint: world.emulator.url,
        armCredential: "emulator",
        azureClientId: undefined,
        timeScale: 1000,
      },
      { credential: staticTokenCredential(), tlsOptions: { ca: world.emulator.caCert } },
    );
    dp = await clients.dataProtection(sub);
    await dp.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  });
  afterAll(async () => world?.stop());

  const count = async (operation: string): Promise<number> =>
    (await world.emulator.control.getCounters()).operations[operation]?.count ?? 0;

  it("retries a GET through two 503s and a connection reset", async () => {
    await world.emulator.control.setFaults({
      rules: [
        { operation: "BackupVaults_Get", errorRate503: 1, maxFaults: 2 },
        { operation: "BackupPolicies_Get", resetRate: 1, maxFaults: 1 },
      ],
    });
    const before = await count("BackupVaults_Get");
    expect((await dp.backupVaults.get(vaultRg, vaultName)).name).toBe(vaultName);
    expect((await count("BackupVaults_Get")) - before).toBe(3);
    expect((await dp.backupPolicies.get(vaultRg, vaultName, "pgflex-weekly")).name).toBe("pgflex-weekly");
    await world.emulator.control.clearFaults();
  });

  it("does not resend a validateForBackup answered 503, so no duplicate operation starts", async () => {
    await world.emulator.control.setFaults({
      rules: [{ operation: "BackupInstances_ValidateForBackup", errorRate503: 1, maxFaults: 1 }],
    });
    const before = await count("BackupInstances_ValidateForBackup");
    let error: unknown;
    try {
      await dp.backupInstances.beginValidateForBackupAndWait(vaultRg, vaultName, {
        backupInstance: anInstanceFor(serverIdOf("pg-faults")).properties!,
      });
    } catch (e) {
      error = e;
    }
    await world.emulator.control.clearFaults();
    expect(isArmRestError(error) && [error.statusCode, error.code]).toEqual([503, "ServiceUnavailable"]);
    expect((await count("BackupInstances_ValidateForBackup")) - before).toBe(1);
  });
});
