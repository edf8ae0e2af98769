import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLE_LTR_BACKUP, ROLE_READER } from "../../../dev/emulator/providers/dataprotection/state.js";
import { armCall } from "./http.js";
import type { RawResponse } from "./http.js";
import { aPgFlexPolicy, anInstanceFor, serverIdOf, startWorld, vaultId } from "./helpers.js";
import type { DpWorld } from "./helpers.js";
import { REFERENCE_DIR } from "../spec.js";
import { loadDataProtectionSpec } from "./spec.js";
import type { SpecValidator } from "./spec.js";

const specDir = join(REFERENCE_DIR, "dataprotection-2024-04-01");
const haveShared = existsSync(join(specDir, "dataprotection.json"));
const example = (name: string): { parameters: Record<string, unknown> } =>
  JSON.parse(readFileSync(join(specDir, "examples", `${name}.json`), "utf8")) as {
    parameters: Record<string, unknown>;
  };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!haveShared)(
  "Data Protection provider conforms to the 2024-04-01 spec (needs ../shared)",
  () => {
    let world: DpWorld;
    let spec: SpecValidator;
    let call: (method: string, path: string, body?: unknown, apiVersion?: string) => Promise<RawResponse>;
    const problems: string[] = [];

    /** Sends, then records every way the answer departs from the spec for `operationId`. */
    async function checked(
      operationId: string,
      method: string,
      path: string,
      body?: unknown,
      apiVersion?: string,
    ): Promise<RawResponse> {
      const r = await call(method, path, body, apiVersion);
      for (const p of spec.checkResponse(operationId, r)) problems.push(`${operationId} ${r.status}: ${p}`);
      return r;
    }

    /** Polls Azure-AsyncOperation to the end (each status body checked), then reads Location if given. */
    async function finish(
      r: RawResponse,
    ): Promise<{ status: string; result?: RawResponse; statuses: string[] }> {
      const statusUrl = r.headers["azure-asyncoperation"];
      if (!statusUrl) throw new Error(`no Azure-AsyncOperation header on ${r.status}`);
      const statuses: string[] = [];
      let status = "Inprogress";
      for (let i = 0; i < 500 && status === "Inprogress"; i++) {
        const s = await checked("OperationStatusBackupVaultContext_Get", "GET", statusUrl);
        status = String((s.body as { status?: string }).status);
        if (statuses.at(-1) !== status) statuses.push(status);
        if (status === "Inprogress") await sleep(5);
      }
      const location = r.headers.location;
      if (!location || status !== "Succeeded") return { status, statuses };
      const result = await call("GET", location);
      if (result.status === 200)
        for (const p of spec.checkDefinition("OperationJobExtendedInfo", result.body))
          problems.push(`Location result: ${p}`);
      return { status, statuses, result };
    }

    beforeAll(async () => {
      spec = loadDataProtectionSpec(specDir);
      world = await startWorld();
      call = (method, path, body, apiVersion) =>
        armCall(world.emulator.url, world.emulator.caCert, method, path, body, apiVersion);
    });
    afterAll(async () => world?.stop());

    it("reports a body that lacks a required field (the checker itself)", () => {
      expect(
        spec.checkDefinition("BackupInstanceResource", {
          properties: { objectType: "BackupInstance", policyInfo: { policyId: "x" } },
        }),
      ).toEqual(["/properties must have required property 'dataSourceInfo'"]);
      expect(
        spec.checkResponse("BackupInstances_ValidateForBackup", {
          status: 202,
          headers: {},
          body: undefined,
        }),
      ).toEqual(["header Location missing", "header Azure-AsyncOperation missing"]);
    });

    it("answers the spec examples' requests with responses valid for each operation", async () => {
      const put = example("PolicyCRUD/CreateOrUpdateBackupPolicy").parameters;
      const bi = example("BackupInstanceOperations/PutBackupInstance").parameters;
      const validate = example("BackupInstanceOperations/ValidateForBackup").parameters;
      const trigger = example("BackupInstanceOperations/TriggerBackup").parameters;
      const sub = String(bi.subscriptionId);
      const rg = String(bi.resourceGroupName);
      const vault = String(bi.vaultName);
      world.control.addVault({
        subscriptionId: sub,
        resourceGroupName: String(put.resourceGroupName),
        name: String(put.vaultName),
        location: "westus",
      });
      world.control.addVault({ subscriptionId: sub, resourceGroupName: rg, name: vault, location: "westus" });
      const vaultPath = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.DataProtection/backupVaults/${vault}`;

      // Vault reads.
      await checked("BackupVaults_Get", "GET", vaultPath);
      await checked(
        "BackupVaults_GetInResourceGroup",
        "GET",
        `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.DataProtection/backupVaults`,
      );
      await checked(
        "BackupVaults_GetInSubscription",
        "GET",
        `/subscriptions/${sub}/providers/Microsoft.DataProtection/backupVaults`,
      );

      // Policies: the example's body, under its own name and under the name the instance examples use.
      const policyPath = `/subscriptions/${sub}/resourceGroups/${String(put.resourceGroupName)}/providers/Microsoft.DataProtection/backupVaults/${String(put.vaultName)}/backupPolicies/${String(put.backupPolicyName)}`;
      expect((await checked("BackupPolicies_CreateOrUpdate", "PUT", policyPath, put.parameters)).status).toBe(
        200,
      );
      const biPolicyId = String(
        (bi.parameters as { properties: { policyInfo: { policyId: string } } }).properties.policyInfo
          .policyId,
      );
      expect(
        (
          await checked(
            "BackupPolicies_CreateOrUpdate",
            "PUT",
            biPolicyId.replace(/Backupvaults/, "backupVaults"),
            put.parameters,
          )
        ).status,
      ).toBe(200);
      await checked("BackupPolicies_Get", "GET", policyPath);
      await checked("BackupPolicies_List", "GET", `${vaultPath}/backupPolicies`);

      // validateForBackup: 202, Inprogress → Succeeded, result from Location.
      const v = await checked(
        "BackupInstances_ValidateForBackup",
        "POST",
        `${vaultPath}/validateForBackup`,
        validate.parameters,
      );
      expect(v.status).toBe(202);
      expect(await finish(v)).toMatchObject({
        status: "Succeeded",
        statuses: ["Inprogress", "Succeeded"],
        result: { status: 200 },
      });

      // PUT instance: 201, then ConfiguringProtection → ProtectionConfigured.
      const instancePath = `${vaultPath}/backupInstances/${String(bi.backupInstanceName)}`;
      const created = await checked("BackupInstances_CreateOrUpdate", "PUT", instancePath, bi.parameters);
      expect(created.status).toBe(201);
      expect((await finish(created)).status).toBe("Succeeded");
      let state = "";
      for (let i = 0; i < 200 && state !== "ProtectionConfigured"; i++) {
        const g = await checked("BackupInstances_Get", "GET", instancePath);
        state = String(
          (g.body as { properties: { currentProtectionState: string } }).properties.currentProtectionState,
        );
        if (state !== "ProtectionConfigured") await sleep(5);
      }
      expect(state).toBe("ProtectionConfigured");
      await checked("BackupInstances_List", "GET", `${vaultPath}/backupInstances`);

      // Ad hoc backup with the example's body; the job runs to Completed.
      const b = await checked(
        "BackupInstances_AdhocBackup",
        "POST",
        `${instancePath}/backup`,
        trigger.parameters,
      );
      expect(b.status).toBe(202);
      const done = await finish(b);
      const jobId = String((done.result?.body as { jobId: string }).jobId)
        .split("/")
        .pop();
      let job = "InProgress";
      for (let i = 0; i < 500 && job === "InProgress"; i++) {
        const j = await checked("Jobs_Get", "GET", `${vaultPath}/backupJobs/${jobId}`);
        job = String((j.body as { properties: { status: string } }).properties.status);
        if (job === "InProgress") await sleep(5);
      }
      expect(job).toBe("Completed");
      await checked("Jobs_List", "GET", `${vaultPath}/backupJobs`);

      // Suspend → resume backups → stop → resume protection (the examples carry no body).
      for (const [op, action] of [
        ["BackupInstances_SuspendBackups", "suspendBackups"],
        ["BackupInstances_ResumeBackups", "resumeBackups"],
        ["BackupInstances_StopProtection", "stopProtection"],
        ["BackupInstances_ResumeProtection", "resumeProtection"],
      ] as const) {
        const r = await checked(op, "POST", `${instancePath}/${action}`);
        expect(r.status).toBe(202);
        expect((await finish(r)).status).toBe("Succeeded");
        await checked("BackupInstances_Get", "GET", instancePath);
      }

      // Delete: 202, then the instance is soft-deleted.
      const d = await checked("BackupInstances_Delete", "DELETE", instancePath);
      expect(d.status).toBe(202);
      expect((await finish(d)).status).toBe("Succeeded");
      expect((await call("GET", instancePath)).status).toBe(404);
      await checked("DeletedBackupInstances_List", "GET", `${vaultPath}/deletedBackupInstances`);
      await checked(
        "DeletedBackupInstances_Get",
        "GET",
        `${vaultPath}/deletedBackupInstances/${String(bi.backupInstanceName)}`,
      );
      expect((await checked("BackupPolicies_Delete", "DELETE", policyPath)).status).toBe(200);

      expect(problems).toEqual([]);
    });

    it("answers rejected bodies with CloudError bodies", async () => {
      const path = `${vaultId}/backupInstances/rejected`;
      const noObjectType = anInstanceFor(serverIdOf("pg-rejected"));
      delete (noObjectType.properties as { objectType?: string }).objectType;
      const r1 = await checked("BackupInstances_CreateOrUpdate", "PUT", path, noObjectType);
      const r2 = await checked(
        "BackupInstances_CreateOrUpdate",
        "PUT",
        path,
        anInstanceFor(serverIdOf("pg-rejected"), `${vaultId}/backupPolicies/missing`),
      );
      const r3 = await checked("BackupInstances_Get", "GET", `${vaultId}/backupInstances/missing`);
      expect([r1.status, r2.status, r3.status]).toEqual([400, 400, 404]);
      expect([r1, r2, r3].map((r) => (r.body as { error: { code: string } }).error.code)).toEqual([
        "UserErrorInvalidRequestParameter",
        "UserErrorPolicyNotFound",
        "ResourceNotFound",
      ]);
      expect(problems).toEqual([]);
    });

    it("answers the recorded Azure CLI requests (api-version 2023-11-01) as Azure did", async () => {
      type Entry = { method: string; path: string; requestBody: unknown; responseBody: unknown };
      const rec = JSON.parse(
        readFileSync(join(REFERENCE_DIR, "recordings", "pgflex-backup-and-restore.json"), "utf8"),
      ) as Entry[];
      const sub = "00000000-0000-0000-0000-000000000000";
      const vaultRecord = rec[52]?.responseBody as { identity: { principalId: string }; location: string };
      world.control.addVault({
        subscriptionId: sub,
        resourceGroupName: "clitest-dpp-ecy-rg",
        name: "clitest-bkp-vault-ecy-donotdelete",
        location: vaultRecord.location,
        principalId: vaultRecord.identity.principalId,
      });
      await world.emulator.control.createServer({
        subscriptionId: sub,
        resourceGroupName: "clitest-dpp-ecy-rg",
        name: "clitest-pgflex-server",
        location: "eastus2euap",
      });
      const serverId = `/subscriptions/${sub}/resourceGroups/clitest-dpp-ecy-rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/clitest-pgflex-server`;
      world.grant(ROLE_LTR_BACKUP, serverId, { principal: vaultRecord.identity.principalId });
      world.grant(ROLE_READER, `/subscriptions/${sub}/resourceGroups/clitest-dpp-ecy-rg`, {
        principal: vaultRecord.identity.principalId,
      });
      const v = "2023-11-01";
      // Long enough (0.2 s real at this time scale) that the first poll always sees Inprogress, as recorded.
      world.control.configure({
        validateDurationInMs: 400_000,
        putDurationInMs: 400_000,
        adhocDurationInMs: 400_000,
        jobIdForm: "full",
      });
      const policyPath = `${rec[11]?.path.replace(/\/backupInstances\/.*$/, "")}/backupPolicies/pgflexpolicy`;
      expect(
        (await checked("BackupPolicies_CreateOrUpdate", "PUT", policyPath, aPgFlexPolicy(), v)).status,
      ).toBe(200);

      for (const i of [1, 6]) {
        const r = await checked(
          "BackupInstances_ValidateForBackup",
          "POST",
          String(rec[i]?.path),
          rec[i]?.requestBody,
          v,
        );
        expect(r.status).toBe(202);
        expect(await finish(r)).toMatchObject({
          statuses: ["Inprogress", "Succeeded"],
          result: { status: 200, body: rec[i + 4]?.responseBody },
        });
      }
      const put = await checked(
        "BackupInstances_CreateOrUpdate",
        "PUT",
        String(rec[11]?.path),
        rec[11]?.requestBody,
        v,
      );
      expect(put.status).toBe(201);
      expect(Object.keys(put.headers)).toContain("azure-asyncoperation");
      expect(put.headers.location).toBeUndefined();
      expect(put.body).toEqual(rec[11]?.responseBody);
      expect((await finish(put)).statuses).toEqual(["Inprogress", "Succeeded"]);

      let got: unknown;
      for (let i = 0; i < 200; i++) {
        got = (await checked("BackupInstances_Get", "GET", String(rec[18]?.path), undefined, v)).body;
        if (
          (got as { properties: { currentProtectionState: string } }).properties.currentProtectionState ===
          "ProtectionConfigured"
        )
          break;
        await sleep(5);
      }
      expect(got).toEqual(rec[18]?.responseBody);

      const backup = await checked(
        "BackupInstances_AdhocBackup",
        "POST",
        String(rec[19]?.path),
        rec[19]?.requestBody,
        v,
      );
      const result = await finish(backup);
      expect(result.statuses).toEqual(["Inprogress", "Succeeded"]);
      const jobId = String((result.result?.body as { jobId: string }).jobId);
      // A full id in the service's casing, as recorded.
      expect(jobId).toMatch(
        /^\/subscriptions\/0{8}-0{4}-0{4}-0{4}-0{12}\/resourcegroups\/clitest-dpp-ecy-rg\/providers\/Microsoft\.DataProtection\/BackupVaults\/clitest-bkp-vault-ecy-donotdelete\/backupJobs\/[0-9a-f-]{36}$/,
      );
      const jobPath = `${policyPath.replace(/\/backupPolicies\/.*$/, "")}/backupJobs/${jobId.split("/").pop()}`;
      let job: { properties: Record<string, unknown> } | undefined;
      for (let i = 0; i < 500; i++) {
        job = (await checked("Jobs_Get", "GET", jobPath, undefined, v)).body as {
          properties: Record<string, unknown>;
        };
        if (job.properties.status !== "InProgress") break;
        await sleep(5);
      }
      const recorded = (rec[50]?.responseBody as { properties: Record<string, unknown> }).properties;
      expect(Object.keys(job?.properties ?? {}).sort()).toEqual(Object.keys(recorded).sort());
      expect(job?.properties).toMatchObject({
        status: "Completed",
        operation: "Backup",
        operationCategory: "Backup",
        isUserTriggered: true,
        policyName: "pgflexpolicy",
      });

      const del = await checked("BackupInstances_Delete", "DELETE", String(rec[71]?.path), undefined, v);
      expect(del.status).toBe(202);
      expect((await finish(del)).status).toBe("Succeeded");
      expect(problems).toEqual([]);
    });
  },
);
