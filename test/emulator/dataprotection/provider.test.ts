import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isArmRestError } from "../../../src/lib/azure/arm-error.js";
import { toArray } from "../../support/asyncIterables.js";
import type {
  AzureBackupJobResource,
  BackupInstanceResource,
} from "../../../src/lib/azure/dataprotection/models.js";
import {
  aPgFlexPolicy,
  anInstanceFor,
  policyId,
  serverIdOf,
  startWorld,
  sub,
  vaultId,
  vaultName,
  vaultRg,
} from "./helpers.js";
import type { DpWorld } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isArmRestError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

describe("Data Protection provider", () => {
  let world: DpWorld;

  async function protect(name: string, instanceName = `${name}-bi`): Promise<string> {
    const serverId = await world.addServer(name);
    world.grantBoth(serverId);
    await world.client.backupInstances.beginCreateOrUpdateAndWait(
      vaultRg,
      vaultName,
      instanceName,
      anInstanceFor(serverId),
    );
    for (let i = 0; i < 300; i++) {
      const bi = await world.client.backupInstances.get(vaultRg, vaultName, instanceName);
      if (bi.properties?.currentProtectionState === "ProtectionConfigured") return serverId;
      await sleep(5);
    }
    throw new Error(`${instanceName} never reached ProtectionConfigured`);
  }

  /** The ARM error of validating the instance `body` for backup in a vault of the test resource group. */
  /** Instance actions the app never sends, so its client does not model them: posted through the transport. */
  async function instanceAction(
    instanceName: string,
    action: "suspendBackups" | "resumeBackups" | "stopProtection" | "resumeProtection",
  ): Promise<void> {
    await world.client.rest
      .beginOperation({
        method: "POST",
        path: `${vaultId}/backupInstances/${instanceName}/${action}`,
        options: { updateIntervalInMs: 5 },
      })
      .pollUntilDone();
  }

  function validationFailure(body: BackupInstanceResource, vault = vaultName): Promise<string> {
    return failure(
      world.client.backupInstances.beginValidateForBackupAndWait(vaultRg, vault, {
        backupInstance: body.properties!,
      }),
    );
  }

  async function backupAndWait(instanceName: string): Promise<AzureBackupJobResource> {
    const r = await world.client.backupInstances.beginAdhocBackupAndWait(vaultRg, vaultName, instanceName, {
      backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} },
    });
    for (let i = 0; i < 500; i++) {
      const job = await world.client.jobs.get(vaultRg, vaultName, r.jobId);
      if (job.properties?.status !== "InProgress") return job;
      await sleep(5);
    }
    throw new Error("job never finished");
  }

  beforeAll(async () => {
    world = await startWorld();
    await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
  });
  afterAll(async () => world?.stop());

  describe("rejects bodies the service rejects for shape", () => {
    it("rejects a backup instance without objectType", async () => {
      const body = anInstanceFor(serverIdOf("pg-shape"));
      delete (body.properties as { objectType?: string }).objectType;
      expect(
        await failure(world.client.backupInstances.beginCreateOrUpdateAndWait(vaultRg, vaultName, "x", body)),
      ).toBe("UserErrorInvalidRequestParameter: 'properties.objectType' must be 'BackupInstance'.");
    });

    it("rejects an unsupported datasource type", async () => {
      const body = anInstanceFor(serverIdOf("pg-shape"));
      body.properties!.dataSourceInfo.datasourceType = "Microsoft.Sql/servers";
      expect(await validationFailure(body)).toBe(
        "UserErrorInvalidRequestParameter: The datasource type 'Microsoft.Sql/servers' is not supported. Supported types: Microsoft.DBforPostgreSQL/flexibleServers, Microsoft.DBforPostgreSQL/servers/databases, OssDB, Microsoft.DBforMySQL/flexibleServers, Microsoft.Compute/disks, Microsoft.Storage/storageAccounts/blobServices, Microsoft.Storage/storageAccounts/adlsBlobServices, Microsoft.ContainerService/managedClusters.",
      );
    });

    it("rejects a policy id the vault does not have", async () => {
      const body = anInstanceFor(serverIdOf("pg-shape"), `${vaultId}/backupPolicies/nope`);
      expect(
        await failure(world.client.backupInstances.beginCreateOrUpdateAndWait(vaultRg, vaultName, "x", body)),
      ).toBe(
        `UserErrorPolicyNotFound: The backup policy '${vaultId}/backupPolicies/nope' was not found in Backup vault 'bv-weu'.`,
      );
    });

    it("rejects a PostgreSQL Flexible Server policy that is not weekly", async () => {
      const policy = aPgFlexPolicy();
      const rule = policy.properties!.policyRules[0] as {
        trigger: { schedule: { repeatingTimeIntervals: string[] } };
      };
      rule.trigger.schedule.repeatingTimeIntervals = ["R/2024-01-07T02:00:00+00:00/P1D"];
      expect(
        await failure(world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "daily", policy)),
      ).toBe(
        "UserErrorInvalidRequestParameter: PostgreSQL Flexible Server policies support weekly backups only ('.../P1W'), not 'R/2024-01-07T02:00:00+00:00/P1D'.",
      );
    });

    it("rejects a PostgreSQL Flexible Server policy tagging backups with a tag the service does not support", async () => {
      const policy = aPgFlexPolicy();
      const rule = policy.properties!.policyRules[0] as {
        trigger: { taggingCriteria: Array<{ tagInfo: { tagName: string } }> };
      };
      rule.trigger.taggingCriteria[0]!.tagInfo.tagName = "Daily";
      expect(
        await failure(world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "daily-tag", policy)),
      ).toBe(
        "UserErrorInvalidRequestParameter: PostgreSQL Flexible Server policies support the retention tags Default, Weekly, Monthly, Yearly, not 'Daily'.",
      );
    });
  });

  describe("fails validation like Azure", () => {
    it("reports a server in another region", async () => {
      const serverId = await world.addServer("pg-east", { location: "eastus" });
      world.grantBoth(serverId);
      expect(await validationFailure(anInstanceFor(serverId))).toBe(
        "UserErrorDatasourceAndVaultRegionMismatch: The datasource is in region 'eastus' but the Backup vault 'bv-weu' is in 'westeurope'. A Backup vault protects datasources of its own region only.",
      );
    });

    it("reports a server that is not Ready", async () => {
      const serverId = await world.addServer("pg-stopped", { state: "Stopped" });
      world.grantBoth(serverId);
      expect(await validationFailure(anInstanceFor(serverId))).toBe(
        "UserErrorDatasourceNotReady: The PostgreSQL Flexible Server 'pg-stopped' is in state 'Stopped'; it must be 'Ready' to be protected.",
      );
    });

    it("reports a server protected by another vault", async () => {
      const serverId = await protect("pg-taken");
      world.control.addVault({
        subscriptionId: sub,
        resourceGroupName: vaultRg,
        name: "bv-other",
        location: "westeurope",
      });
      await world.client.backupPolicies.createOrUpdate(vaultRg, "bv-other", "pgflex-weekly", aPgFlexPolicy());
      const body = anInstanceFor(
        serverId,
        `${vaultId.replace("bv-weu", "bv-other")}/backupPolicies/pgflex-weekly`,
      );
      expect(await validationFailure(body, "bv-other")).toBe(
        `UserErrorDppDatasourceAlreadyProtected: Datasource '${serverId}' is already protected by backup instance 'pg-taken-bi' in Backup vault '${vaultId}'.`,
      );
    });

    it("reports a vault without a managed identity", async () => {
      world.control.addVault({
        subscriptionId: sub,
        resourceGroupName: vaultRg,
        name: "bv-noid",
        location: "westeurope",
        principalId: null,
      });
      await world.client.backupPolicies.createOrUpdate(vaultRg, "bv-noid", "pgflex-weekly", aPgFlexPolicy());
      const serverId = await world.addServer("pg-noid");
      const body = anInstanceFor(
        serverId,
        `${vaultId.replace("bv-weu", "bv-noid")}/backupPolicies/pgflex-weekly`,
      );
      expect(await validationFailure(body, "bv-noid")).toBe(
        "UserErrorMissingRequiredPermissions: Appropriate permissions to perform the operation is missing. The Backup vault 'bv-noid' has no system-assigned managed identity.",
      );
      expect((await world.client.backupVaults.get(vaultRg, "bv-noid")).identity).toEqual({ type: "None" });
    });
  });

  it("answers ResourceNotFound naming the type for a missing policy, instance, deleted instance or job", async () => {
    const missing = (type: string, name: string) =>
      `ResourceNotFound: The Resource 'Microsoft.DataProtection/backupVaults/${type}/${vaultName}/${name}' under resource group '${vaultRg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`;
    const job = "0e9f8a7b-6c5d-4e3f-8a1b-2c3d4e5f6a7b";
    expect(await failure(world.client.backupPolicies.get(vaultRg, vaultName, "nope"))).toBe(
      missing("backupPolicies", "nope"),
    );
    expect(await failure(world.client.backupInstances.get(vaultRg, vaultName, "nope-bi"))).toBe(
      missing("backupInstances", "nope-bi"),
    );
    expect(await failure(world.client.deletedBackupInstances.get(vaultRg, vaultName, "nope-bi"))).toBe(
      missing("deletedBackupInstances", "nope-bi"),
    );
    expect(await failure(world.client.jobs.get(vaultRg, vaultName, job))).toBe(missing("backupJobs", job));
  });

  describe("protection state machine", () => {
    it("records ConfiguringProtectionFailed when the roles are missing at configure time", async () => {
      const serverId = await world.addServer("pg-fail");
      expect(
        await failure(
          world.client.backupInstances.beginCreateOrUpdateAndWait(
            vaultRg,
            vaultName,
            "pg-fail-bi",
            anInstanceFor(serverId),
          ),
        ),
      ).toMatch(/^UserErrorMissingRequiredPermissions: /);
      const bi = await world.client.backupInstances.get(vaultRg, vaultName, "pg-fail-bi");
      expect(bi.properties).toMatchObject({
        currentProtectionState: "ConfiguringProtectionFailed",
        provisioningState: "Failed",
        protectionStatus: { status: "ConfiguringProtectionFailed" },
      });
    });

    it("suspends, resumes, stops and resumes protection, refusing backups while not protected", async () => {
      await protect("pg-cycle");
      const bi = () =>
        world.client.backupInstances
          .get(vaultRg, vaultName, "pg-cycle-bi")
          .then((r) => r.properties?.currentProtectionState);
      await instanceAction("pg-cycle-bi", "suspendBackups");
      expect(await bi()).toBe("BackupSchedulesSuspended");
      expect(
        await failure(
          world.client.backupInstances.beginAdhocBackupAndWait(vaultRg, vaultName, "pg-cycle-bi", {
            backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} },
          }),
        ),
      ).toBe(
        "UserErrorBackupInstanceNotProtected: Backup instance 'pg-cycle-bi' is in state 'BackupSchedulesSuspended'; an ad hoc backup needs 'ProtectionConfigured'.",
      );
      await instanceAction("pg-cycle-bi", "resumeBackups");
      expect(await bi()).toBe("ProtectionConfigured");
      await instanceAction("pg-cycle-bi", "stopProtection");
      expect(await bi()).toBe("ProtectionStopped");
      await instanceAction("pg-cycle-bi", "resumeProtection");
      expect(await bi()).toBe("ProtectionConfigured");
    });

    it("soft-deletes an instance and frees its server for protection again", async () => {
      const serverId = await protect("pg-del");
      await world.client.backupInstances.beginDeleteAndWait(vaultRg, vaultName, "pg-del-bi");
      const deleted = await toArray(world.client.deletedBackupInstances.list(vaultRg, vaultName));
      expect(deleted.find((d) => d.name === "pg-del-bi")?.properties).toMatchObject({
        currentProtectionState: "SoftDeleted",
      });
      await expect(
        world.client.backupInstances.beginDeleteAndWait(vaultRg, vaultName, "pg-del-bi"),
      ).resolves.toBeUndefined();
      await world.client.backupInstances.beginValidateForBackupAndWait(vaultRg, vaultName, {
        backupInstance: anInstanceFor(serverId).properties!,
      });
    });
  });

  describe("jobs", () => {
    it("ends jobs Failed or CompletedWithWarnings as configured per server and per vault", async () => {
      const failing = await protect("pg-jobfail");
      await protect("pg-jobwarn");
      world.control.setJobOutcome(failing, {
        status: "Failed",
        errorCode: "UserErrorServerUnreachable",
        errorMessage: "The server could not be reached.",
      });
      world.control.setJobOutcome(vaultId, { status: "CompletedWithWarnings" });
      const failed = await backupAndWait("pg-jobfail-bi");
      const warned = await backupAndWait("pg-jobwarn-bi");
      world.control.setJobOutcome(failing, null);
      world.control.setJobOutcome(vaultId, null);
      expect(failed.properties?.status).toBe("Failed");
      expect(failed.properties?.errorDetails?.[0]).toMatchObject({
        code: "UserErrorServerUnreachable",
        message: "The server could not be reached.",
      });
      expect(warned.properties?.status).toBe("CompletedWithWarnings");
      expect(warned.properties?.extendedInfo?.warningDetails?.[0]?.code).toBe(
        "UserErrorBackupCompletedWithWarnings",
      );
    });

    it("reports a time-scaled job's times on the wall clock, never after it, with the emulated duration", async () => {
      await protect("pg-clock");
      const done = await backupAndWait("pg-clock-bi");
      const job = await world.client.jobs.get(vaultRg, vaultName, done.name ?? "");
      const readAt = Date.now();
      const p = job.properties;
      const startTime = Date.parse(p?.startTime ?? "");
      const endTime = Date.parse(p?.endTime ?? "");
      const recoveryPointTime = Date.parse(p?.extendedInfo?.targetRecoverPoint?.recoveryPointTime ?? "");
      // The emulator runs 2000 times faster: the 12 min 15 s job took well under a second of real time.
      expect(p?.status).toBe("Completed");
      expect(p?.duration).toBe("PT12M15S");
      expect(startTime).toBeLessThanOrEqual(recoveryPointTime);
      expect(recoveryPointTime).toBeLessThanOrEqual(endTime);
      expect(endTime).toBeLessThanOrEqual(readAt);
      const listed = await toArray(world.client.jobs.list(vaultRg, vaultName));
      expect(listed.find((j) => j.name === job.name)?.properties?.startTime).toBe(p?.startTime);
    });

    it("answers the ad hoc job id as a full id and as a bare GUID in turn", async () => {
      await protect("pg-ids");
      world.control.configure({ jobIdForm: "alternate" });
      const forms = [];
      for (let i = 0; i < 2; i++) {
        const r = await world.client.backupInstances.beginAdhocBackupAndWait(
          vaultRg,
          vaultName,
          "pg-ids-bi",
          { backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} } },
        );
        forms.push(r.rawJobId.startsWith("/subscriptions/") ? "full" : "guid");
        expect(r.jobResourceId).toBe(`${vaultId}/backupJobs/${r.jobId}`);
      }
      expect(forms.sort()).toEqual(["full", "guid"]);
    });

    it("creates scheduled backup jobs from the policy's repeating interval", async () => {
      const policy = aPgFlexPolicy();
      const start = new Date(world.emulator.core.context.clock.now() + 10 * 60_000).toISOString();
      (
        policy.properties!.policyRules[0] as { trigger: { schedule: { repeatingTimeIntervals: string[] } } }
      ).trigger.schedule.repeatingTimeIntervals = [`R/${start}/P1W`];
      await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "soon", policy);
      const serverId = await world.addServer("pg-sched");
      world.grantBoth(serverId);
      await world.client.backupInstances.beginCreateOrUpdateAndWait(
        vaultRg,
        vaultName,
        "pg-sched-bi",
        anInstanceFor(serverId, `${vaultId}/backupPolicies/soon`),
      );
      let scheduled: AzureBackupJobResource[] = [];
      for (let i = 0; i < 400 && scheduled.length === 0; i++) {
        await sleep(10);
        scheduled = (await toArray(world.client.jobs.list(vaultRg, vaultName))).filter(
          (j) => j.properties?.operation === "ScheduledBackup",
        );
      }
      expect(
        scheduled.map((j) => [
          j.properties?.backupInstanceFriendlyName,
          j.properties?.isUserTriggered,
          j.properties?.startTime?.slice(0, 19),
        ]),
      ).toEqual([
        [
          "pg-sched",
          false,
          // The slot is paced in emulator time and reported at the wall-clock instant the emulator reached it.
          new Date(world.emulator.core.context.clock.reported(Date.parse(start))).toISOString().slice(0, 19),
        ],
      ]);
    });

    it("ignores a $filter on the job list, which the spec does not have, and lists every job oldest first", async () => {
      const path = `${vaultId}/backupJobs`;
      const all = await toArray(world.client.jobs.list(vaultRg, vaultName));
      expect(all.length).toBeGreaterThan(1);
      const future = new Date(world.emulator.core.context.clock.now() + 3_600_000).toISOString();
      const page = await world.client.rest.getPage<AzureBackupJobResource>(path, undefined, {
        query: { $filter: `startTime ge '${future}'` },
      });
      expect(page.items.map((j) => j.name)).toEqual(all.slice(0, page.items.length).map((j) => j.name));
      const starts = all.map((j) => Date.parse(j.properties?.startTime ?? ""));
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
    });

    it("fails a second vaulted backup of an instance in the same week, as the support matrix says", async () => {
      await protect("pg-twice");
      await protect("pg-once");
      const first = await backupAndWait("pg-twice-bi");
      const second = await backupAndWait("pg-twice-bi");
      const other = await backupAndWait("pg-once-bi");
      expect([first, second, other].map((j) => j.properties?.status)).toEqual([
        "Completed",
        "Failed",
        "Completed",
      ]);
      expect(second.properties?.errorDetails?.[0]).toMatchObject({
        code: "UserErrorWeeklyBackupLimitReached",
        message: expect.stringMatching(
          new RegExp(
            `^Only one vaulted backup a week is supported for Azure Database for PostgreSQL flexible servers\\. Backup instance 'pg-twice-bi' already has this week's vaulted backup \\(job '${first.name}', started ${new Date(first.properties?.startTime ?? "").toISOString().replace(/\./g, "\\.")}\\)\\. Retry after \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, when the next week starts\\.$`,
          ),
        ) as unknown,
      });
    });

    it("does not count a failed or cancelled backup as the week's backup: the next one that week runs", async () => {
      const serverId = await protect("pg-retry");
      world.control.setJobOutcome(serverId, { status: "Failed", errorCode: "UserErrorBackupFailed" });
      const failed = await backupAndWait("pg-retry-bi");
      world.control.setJobOutcome(serverId, { status: "Cancelled" });
      const cancelled = await backupAndWait("pg-retry-bi");
      world.control.setJobOutcome(serverId, null);
      const retried = await backupAndWait("pg-retry-bi");
      expect([failed, cancelled, retried].map((j) => j.properties?.status)).toEqual([
        "Failed",
        "Cancelled",
        "Completed",
      ]);
    });

    it("fails an ad hoc backup after the week's scheduled backup", async () => {
      const policy = aPgFlexPolicy();
      const start = new Date(world.emulator.core.context.clock.now() + 10 * 60_000).toISOString();
      (
        policy.properties!.policyRules[0] as { trigger: { schedule: { repeatingTimeIntervals: string[] } } }
      ).trigger.schedule.repeatingTimeIntervals = [`R/${start}/P1W`];
      await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "soon-week", policy);
      const serverId = await world.addServer("pg-weekly");
      world.grantBoth(serverId);
      await world.client.backupInstances.beginCreateOrUpdateAndWait(
        vaultRg,
        vaultName,
        "pg-weekly-bi",
        anInstanceFor(serverId, `${vaultId}/backupPolicies/soon-week`),
      );
      let scheduled: AzureBackupJobResource[] = [];
      for (let i = 0; i < 400 && scheduled.length === 0; i++) {
        await sleep(10);
        scheduled = (await toArray(world.client.jobs.list(vaultRg, vaultName))).filter(
          (j) =>
            j.properties?.backupInstanceFriendlyName === "pg-weekly" &&
            j.properties.isUserTriggered === false,
        );
      }
      expect(scheduled).toHaveLength(1);
      const adhoc = await backupAndWait("pg-weekly-bi");
      expect(adhoc.properties?.errorDetails?.[0]?.code).toBe("UserErrorWeeklyBackupLimitReached");
    });
  });

  describe("control API over HTTP", () => {
    it("adds a vault, changes its identity and finishes a job through /_emulator/dataprotection", async () => {
      const control = world.emulator.control;
      const added = await control.invoke<{ identity: unknown }>("POST", "/dataprotection/vaults", {
        subscriptionId: sub,
        resourceGroupName: "rg-ctl",
        name: "bv-ctl",
        location: "northeurope",
        principalId: null,
      });
      expect(added.identity).toEqual({ type: "None" });
      const changed = await control.invoke<{ identity: unknown }>("PUT", "/dataprotection/vaults/identity", {
        vaultId: `/subscriptions/${sub}/resourceGroups/rg-ctl/providers/Microsoft.DataProtection/backupVaults/bv-ctl`,
        principalId: "bbbbbbbb-0000-4000-8000-000000000002",
      });
      expect(changed.identity).toEqual({
        type: "SystemAssigned",
        principalId: "bbbbbbbb-0000-4000-8000-000000000002",
        tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      });
      await expect(
        control.invoke("PUT", "/dataprotection/outcomes", { target: "*", outcome: { status: "Bogus" } }),
      ).rejects.toThrow(
        "Job status must be one of Completed, Failed, CompletedWithWarnings, Cancelled, Canceled, not 'Bogus'.",
      );

      await protect("pg-finish");
      world.control.configure({ backupJobDurationInMs: 86_400_000 });
      const r = await world.client.backupInstances.beginAdhocBackupAndWait(
        vaultRg,
        vaultName,
        "pg-finish-bi",
        { backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} } },
      );
      world.control.configure({ backupJobDurationInMs: 735_000 });
      const finished = await control.invoke<{ properties: { status: string } }>(
        "POST",
        "/dataprotection/jobs/finish",
        { jobId: r.jobResourceId, status: "Failed" },
      );
      expect(finished.properties.status).toBe("Failed");
      expect((await world.client.jobs.get(vaultRg, vaultName, r.jobId)).properties?.status).toBe("Failed");
    });

    it("ends a running job Canceled on request, as ARM spells it, with an end time and no data", async () => {
      const control = world.emulator.control;
      await protect("pg-cancel");
      world.control.configure({ backupJobDurationInMs: 86_400_000 });
      const r = await world.client.backupInstances.beginAdhocBackupAndWait(
        vaultRg,
        vaultName,
        "pg-cancel-bi",
        { backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} } },
      );
      world.control.configure({ backupJobDurationInMs: 735_000 });
      await control.invoke("POST", "/dataprotection/jobs/finish", {
        jobId: r.jobResourceId,
        status: "Canceled",
      });
      const job = await world.client.jobs.get(vaultRg, vaultName, r.jobId);
      expect(job.properties?.status).toBe("Canceled");
      expect(job.properties?.endTime).toBeDefined();
      expect(job.properties?.extendedInfo?.dataTransferredInBytes ?? 0).toBe(0);
      await expect(
        control.invoke("POST", "/dataprotection/jobs/finish", { jobId: r.jobResourceId, status: "Stopped" }),
      ).rejects.toThrow("not 'Stopped'");
    });

    it("keeps its state through export and import", async () => {
      const exported = await world.emulator.control.exportState();
      const slice = (exported.providers as Record<string, { vaults: Record<string, unknown> }>)
        .dataprotection;
      expect(Object.keys(slice?.vaults ?? {})).toContain(vaultId.toLowerCase());
      await world.emulator.control.loadState(exported);
      expect((await world.client.backupPolicies.get(vaultRg, vaultName, "pgflex-weekly")).id).toBe(policyId);
    });
  });
});
