import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toArray } from "../support/asyncIterables.js";
import { isArmRestError } from "../../src/lib/azure/arm-error.js";
import { pgFlexWeeklyPolicy } from "../../src/lib/azure/dataprotection/policies.js";
import {
  aPgFlexPolicy,
  anInstanceFor,
  principalId,
  serverIdOf,
  startWorld,
  vaultName,
  vaultRg,
} from "../emulator/dataprotection/helpers.js";
import type { DpWorld } from "../emulator/dataprotection/helpers.js";

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (isArmRestError(e)) return `${e.statusCode} ${e.code}: ${e.message}`;
    throw e;
  }
}

describe("Data Protection client against the emulator", () => {
  let world: DpWorld;
  beforeAll(async () => {
    world = await startWorld();
    await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  });
  afterAll(async () => world?.stop());

  it("reads the vault with its system-assigned identity", async () => {
    const vault = await world.client.backupVaults.get(vaultRg, vaultName);
    expect(vault.identity).toMatchObject({ type: "SystemAssigned", principalId });
    const inRg = await toArray(world.client.backupVaults.listInResourceGroup(vaultRg));
    expect(inRg.map((v) => v.name)).toEqual([vaultName]);
  });

  it("protects a server, backs it up and follows the job to Completed", async () => {
    const serverId = await world.addServer("pg-ok");
    world.grantBoth(serverId);
    const instance = anInstanceFor(serverId);
    await world.client.backupInstances.beginValidateForBackupAndWait(vaultRg, vaultName, {
      backupInstance: instance.properties!,
    });
    const created = await world.client.backupInstances.beginCreateOrUpdateAndWait(
      vaultRg,
      vaultName,
      "pg-ok-bi",
      instance,
    );
    // Azure answers the PUT while it configures; on a busy machine the emulator may have finished by the time the
    // poller reads the result (the PUT's own body is checked in the emulator's suite).
    expect(["ConfiguringProtection", "ProtectionConfigured"]).toContain(
      created.properties?.protectionStatus?.status,
    );
    let status: string | undefined;
    for (let i = 0; i < 200 && status !== "ProtectionConfigured"; i++) {
      await new Promise((r) => setTimeout(r, 5));
      status = (await world.client.backupInstances.get(vaultRg, vaultName, "pg-ok-bi")).properties
        ?.protectionStatus?.status;
    }
    expect(status).toBe("ProtectionConfigured");

    const backup = await world.client.backupInstances.beginAdhocBackupAndWait(
      vaultRg,
      vaultName,
      "pg-ok-bi",
      {
        backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: { retentionTagOverride: "Default" } },
      },
    );
    expect(backup.jobResourceId).toBe(
      `/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-weu/backupJobs/${backup.jobId}`,
    );
    let job = await world.client.jobs.get(vaultRg, vaultName, backup.rawJobId);
    for (let i = 0; i < 400 && job.properties?.status.toLowerCase() === "inprogress"; i++) {
      await new Promise((r) => setTimeout(r, 5));
      job = await world.client.jobs.get(vaultRg, vaultName, backup.jobId);
    }
    expect(job.properties?.status).toBe("Completed");
    expect(job.properties?.extendedInfo?.additionalDetails?.RetentionTag).toBe("Default");
  });

  it("fails validation naming the missing role and scope until the grant has propagated", async () => {
    const serverId = await world.addServer("pg-noroles", { location: "westeurope" });
    const instance = anInstanceFor(serverId);
    const validate = () =>
      codeOf(
        world.client.backupInstances.beginValidateForBackupAndWait(vaultRg, vaultName, {
          backupInstance: instance.properties!,
        }),
      );
    // Reader on rg-db was granted for pg-ok; the server-level role is missing. The failed operation status
    // is answered with 200; the error carries the operation's code and, for a user error, status 400.
    const missing = `400 UserErrorMissingRequiredPermissions: Appropriate permissions to perform the operation is missing. The Backup vault's managed identity (principal '${principalId}') needs the role 'PostgreSQL Flexible Server Long Term Retention Backup Role' (c088a766-074b-43ba-90d4-1fb21feae531) on scope '${serverId}'.`;
    expect(await validate()).toBe(missing);

    // Granted, but RBAC takes 10 emulated minutes to propagate: validation still fails meanwhile.
    world.grant("c088a766-074b-43ba-90d4-1fb21feae531", serverId, { notEffectiveForInMs: 600_000 });
    expect(await validate()).toBe(missing);

    let result: string | undefined = missing;
    for (let i = 0; i < 200 && result !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
      result = await validate();
    }
    expect(result).toBeUndefined();
  });

  it("reports a datasource protected by another instance as UserErrorDppDatasourceAlreadyProtected", async () => {
    const serverId = serverIdOf("pg-ok");
    const message = await codeOf(
      world.client.backupInstances.beginCreateOrUpdateAndWait(
        vaultRg,
        vaultName,
        "second-bi",
        anInstanceFor(serverId),
      ),
    );
    expect(message).toBe(
      `409 UserErrorDppDatasourceAlreadyProtected: Datasource '${serverId}' is already protected by backup instance 'pg-ok-bi' in Backup vault '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-weu'.`,
    );
  });

  it("creates the app's default PG Flexible policy, which the service accepts", async () => {
    const created = await world.client.backupPolicies.createOrUpdate(
      vaultRg,
      vaultName,
      "pgflex-default",
      pgFlexWeeklyPolicy({ retention: "P12W" }),
    );
    expect(created.properties?.datasourceTypes).toEqual(["Microsoft.DBforPostgreSQL/flexibleServers"]);
    expect(() => pgFlexWeeklyPolicy({ retention: "12 weeks" })).toThrow(
      'Retention "12 weeks" is not an ISO 8601 duration such as P12W.',
    );
  });
});
