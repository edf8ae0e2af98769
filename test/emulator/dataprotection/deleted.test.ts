/**
 * Soft-deleted backup instances in the emulator: the name stays taken, and undelete brings the instance back
 * stopped with its jobs, to be resumed (DeletedBackupInstances_List/Get/Undelete, 2024-04-01).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isArmRestError } from "../../../src/lib/azure/arm-error.js";
import { toArray } from "../../support/asyncIterables.js";
import { aPgFlexPolicy, anInstanceFor, startWorld, vaultId, vaultName, vaultRg } from "./helpers.js";
import type { DpWorld } from "./helpers.js";

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isArmRestError(e)) return `${e.statusCode} ${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

describe("soft-deleted backup instances", () => {
  let world: DpWorld;
  const state = async (name: string) =>
    (await world.client.backupInstances.get(vaultRg, vaultName, name)).properties?.currentProtectionState;

  beforeAll(async () => {
    world = await startWorld();
    await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  });
  afterAll(async () => world?.stop());

  it("keeps a deleted instance's name: a PUT of it is refused until it is undeleted", async () => {
    const serverId = await world.protectServer("pg-sd");
    await world.client.backupInstances.beginDeleteAndWait(vaultRg, vaultName, "pg-sd-bi");

    const deleted = await world.client.deletedBackupInstances.get(vaultRg, vaultName, "pg-sd-bi");
    expect(deleted).toMatchObject({
      id: `${vaultId}/deletedBackupInstances/pg-sd-bi`,
      name: "pg-sd-bi",
      type: "Microsoft.DataProtection/backupVaults/deletedBackupInstances",
      properties: { objectType: "DeletedBackupInstance", protectionStatus: { status: "SoftDeleted" } },
    });
    const refused = await failure(
      world.client.backupInstances.beginCreateOrUpdateAndWait(
        vaultRg,
        vaultName,
        "pg-sd-bi",
        anInstanceFor(serverId),
      ),
    );
    expect(refused).toMatch(
      /^409 UserErrorBackupInstanceExistsInSoftDeletedState: Backup instance 'pg-sd-bi' was deleted and is kept in soft-deleted state until .+\. Undelete it \(POST \.\.\.\/deletedBackupInstances\/pg-sd-bi\/undelete\) or use another name\.$/,
    );
  });

  it("undeletes an instance as an LRO: back stopped with its jobs, then resumed to ProtectionConfigured", async () => {
    await world.protectServer("pg-undo");
    const backup = await world.client.backupInstances.beginAdhocBackupAndWait(
      vaultRg,
      vaultName,
      "pg-undo-bi",
      {
        backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} },
      },
    );
    await world.client.backupInstances.beginDeleteAndWait(vaultRg, vaultName, "pg-undo-bi");

    const poller = world.client.deletedBackupInstances.beginUndelete(vaultRg, vaultName, "pg-undo-bi");
    await poller.submitted();
    await poller.pollUntilDone();

    expect(await state("pg-undo-bi")).toBe("ProtectionStopped");
    const left = await toArray(world.client.deletedBackupInstances.list(vaultRg, vaultName));
    expect(left.map((d) => d.name)).not.toContain("pg-undo-bi");
    const job = await world.client.jobs.get(vaultRg, vaultName, backup.jobId);
    expect(job.properties?.backupInstanceId).toBe(`${vaultId}/backupInstances/pg-undo-bi`);

    await world.client.backupInstances.beginResumeProtectionAndWait(vaultRg, vaultName, "pg-undo-bi");
    expect(await state("pg-undo-bi")).toBe("ProtectionConfigured");
  });

  it("answers 404 naming the deleted instance when there is nothing to undelete", async () => {
    expect(
      await failure(world.client.deletedBackupInstances.beginUndeleteAndWait(vaultRg, vaultName, "nope-bi")),
    ).toBe(
      `404 ResourceNotFound: The Resource 'Microsoft.DataProtection/backupVaults/deletedBackupInstances/${vaultName}/nope-bi' under resource group '${vaultRg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  });
});
