import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import createAuthorizationProvider from "../../../dev/emulator/providers/authorization/index.js";
import { createDataProtectionProvider } from "../../../dev/emulator/providers/dataprotection/index.js";
import { ROLE_LTR_BACKUP, ROLE_READER } from "../../../dev/emulator/providers/dataprotection/state.js";
import createStorageProvider from "../../../dev/emulator/providers/storage/index.js";
import { REFERENCE_DIR } from "../spec.js";
import { armCall } from "./http.js";
import type { RawResponse } from "./http.js";
import { aPgFlexPolicy, startWorld } from "./helpers.js";
import type { DpWorld } from "./helpers.js";
import { loadDataProtectionSpec } from "./spec.js";
import type { SpecValidator } from "./spec.js";

const recordingPath = join(REFERENCE_DIR, "recordings", "pgflex-backup-and-restore.json");
const specDir = join(REFERENCE_DIR, "dataprotection-2024-04-01");
const haveShared = existsSync(recordingPath) && existsSync(join(specDir, "dataprotection.json"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Entry = {
  method: string;
  path: string;
  query: Record<string, string>;
  requestBody: unknown;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: unknown;
};
type Props = Record<string, unknown> & { extendedInfo: Record<string, unknown> };

const keys = (o: unknown): string[] => Object.keys((o ?? {}) as object).sort();

describe.skipIf(!haveShared)(
  "Data Protection restore replays the recorded Azure CLI restore, entries 51–70 (needs ../shared)",
  () => {
    let rec: Entry[];
    let world: DpWorld;
    let spec: SpecValidator;
    const problems: string[] = [];
    const v = "2023-11-01";

    async function call(operationId: string, method: string, path: string, body?: unknown, apiVersion = v) {
      const r = await armCall(world.emulator.url, world.emulator.caCert, method, path, body, apiVersion);
      if (operationId)
        for (const p of spec.checkResponse(operationId, r)) problems.push(`${operationId} ${r.status}: ${p}`);
      return r;
    }

    /** Polls the status URL (recorded: Inprogress, then Succeeded) and reads the Location result. */
    async function finish(r: RawResponse): Promise<{ statuses: string[]; last: Props; result: RawResponse }> {
      const statuses: string[] = [];
      let last: Props = { extendedInfo: {} };
      for (let i = 0; i < 1000; i++) {
        last = (
          await call(
            "OperationStatusBackupVaultContext_Get",
            "GET",
            String(r.headers["azure-asyncoperation"]),
          )
        ).body as Props;
        if (statuses.at(-1) !== last.status) statuses.push(String(last.status));
        if (last.status !== "Inprogress") break;
        await sleep(5);
      }
      const location = r.headers.location;
      return { statuses, last, result: location ? await call("", "GET", location) : r };
    }

    beforeAll(async () => {
      rec = JSON.parse(readFileSync(recordingPath, "utf8")) as Entry[];
      spec = loadDataProtectionSpec(specDir);
      world = await startWorld({
        providers: [createDataProtectionProvider(), createStorageProvider(), createAuthorizationProvider],
      });
      const sub = "00000000-0000-0000-0000-000000000000";
      const rg = "clitest-dpp-ecy-rg";
      const vaultRecord = rec[52]?.responseBody as { identity: { principalId: string }; location: string };
      world.control.addVault({
        subscriptionId: sub,
        resourceGroupName: rg,
        name: "clitest-bkp-vault-ecy-donotdelete",
        location: vaultRecord.location,
        principalId: vaultRecord.identity.principalId,
      });
      const server = await world.emulator.control.createServer({
        subscriptionId: sub,
        resourceGroupName: rg,
        name: "clitest-pgflex-server",
        location: "eastus2euap",
      });
      world.grant(ROLE_LTR_BACKUP, server.id, { principal: vaultRecord.identity.principalId });
      world.grant(ROLE_READER, `/subscriptions/${sub}/resourceGroups/${rg}`, {
        principal: vaultRecord.identity.principalId,
      });
      // The recorded target: an account that allows cross-tenant replication, and its container.
      await world.emulator.control.invoke("POST", "/storage/accounts", {
        subscriptionId: sub,
        resourceGroupName: rg,
        name: "clitestecysa",
        location: "eastus2euap",
        allowCrossTenantReplication: true,
        containers: ["clitestpgflexblob"],
      });
      // Long enough (0.2 s real at this time scale) that the first poll sees Inprogress, as recorded.
      world.control.configure({
        putDurationInMs: 400_000,
        jobIdForm: "full",
        validateRestoreDurationInMs: 400_000,
        restoreTriggerDurationInMs: 400_000,
        restoreJobDurationInMs: 400_000,
      } as Parameters<DpWorld["control"]["configure"]>[0]);
      const policyPath = `${rec[11]?.path.replace(/\/backupInstances\/.*$/, "")}/backupPolicies/pgflexpolicy`;
      await call("BackupPolicies_CreateOrUpdate", "PUT", policyPath, aPgFlexPolicy());
      const put = await call(
        "BackupInstances_CreateOrUpdate",
        "PUT",
        String(rec[11]?.path),
        rec[11]?.requestBody,
      );
      await finish(put);
      for (let i = 0; i < 1000; i++) {
        const bi = (await call("BackupInstances_Get", "GET", String(rec[18]?.path))).body as {
          properties: { currentProtectionState: string };
        };
        if (bi.properties.currentProtectionState === "ProtectionConfigured") break;
        await sleep(5);
      }
    });
    afterAll(async () => world?.stop());

    it("lists the recovery point, validates, restores and follows the Restore job as recorded", async () => {
      // The ad hoc backup of entry 19, to its end.
      const backup = await finish(
        await call("BackupInstances_AdhocBackup", "POST", String(rec[19]?.path), rec[19]?.requestBody),
      );
      const backupJobPath = `${String(rec[48]?.path).replace(/\/backupJobs\/.*$/, "")}/backupJobs/${String(
        (backup.result.body as { jobId: string }).jobId,
      )
        .split("/")
        .pop()}`;
      for (let i = 0; i < 1000; i++) {
        const job = (await call("Jobs_Get", "GET", backupJobPath)).body as { properties: Props };
        if (job.properties.status !== "InProgress") break;
        await sleep(5);
      }

      // 51: recovery points, with the CLI's empty $filter.
      const listed = await call("RecoveryPoints_List", "GET", `${rec[51]?.path}?$filter=`);
      expect(listed.status).toBe(200);
      const recordedPoint = (rec[51]?.responseBody as { value: Array<{ properties: Props }> }).value[0];
      const point = (listed.body as { value: Array<{ name: string; properties: Props }> }).value[0];
      expect(keys(point)).toEqual(keys(recordedPoint));
      expect(keys(point?.properties)).toEqual(keys(recordedPoint?.properties));
      const stores = (p: unknown) =>
        (p as { recoveryPointDataStoresDetails: unknown[] }).recoveryPointDataStoresDetails;
      expect(keys(stores(point?.properties)[0])).toEqual(keys(stores(recordedPoint?.properties)[0]));
      expect(point?.properties).toMatchObject({
        objectType: "AzureBackupDiscreteRecoveryPoint",
        recoveryPointType: "Full",
        policyName: "pgflexpolicy",
        recoveryPointState: "Completed",
      });
      const pointId = String(point?.name);
      const withOurPoint = (body: unknown): Record<string, unknown> => ({
        ...(body as Record<string, unknown>),
        recoveryPointId: pointId,
      });

      // 55 and 60: the CLI reads the account's role assignments, then grants the vault Storage Blob Data Contributor.
      expect(
        (await call("", "GET", `${rec[55]?.path}?$filter=atScope()`, undefined, "2022-04-01")).status,
      ).toBe(200);
      const grant = await call("", "PUT", String(rec[60]?.path), rec[60]?.requestBody, "2022-04-01");
      expect(grant.status).toBe(rec[60]?.status);

      // 61–64: validateRestore: 202 with both headers, Inprogress then Succeeded, the Location result.
      const validateBody = rec[61]?.requestBody as { restoreRequestObject: unknown };
      const validate = await call("BackupInstances_ValidateForRestore", "POST", String(rec[61]?.path), {
        restoreRequestObject: withOurPoint(validateBody.restoreRequestObject),
      });
      expect(validate.status).toBe(202);
      expect(validate.headers.location).toContain(
        "/providers/Microsoft.DataProtection/locations/eastus2euap/operationResults/",
      );
      const validated = await finish(validate);
      expect(validated.statuses).toEqual(["Inprogress", "Succeeded"]);
      expect(validated.result.body).toEqual(rec[64]?.responseBody);

      // 65–68: restore: 202, Inprogress then Succeeded with the job id in the service's casing.
      const restore = await call(
        "BackupInstances_TriggerRestore",
        "POST",
        String(rec[65]?.path),
        withOurPoint(rec[65]?.requestBody),
      );
      expect(restore.status).toBe(202);
      const restored = await finish(restore);
      expect(restored.statuses).toEqual(["Inprogress", "Succeeded"]);
      expect(keys(restored.last)).toEqual(keys(rec[67]?.responseBody));
      const jobId = String((restored.result.body as { jobId: string }).jobId);
      expect(keys(restored.result.body)).toEqual(keys(rec[68]?.responseBody));
      expect(jobId).toMatch(
        /^\/subscriptions\/0{8}-0{4}-0{4}-0{4}-0{12}\/resourcegroups\/clitest-dpp-ecy-rg\/providers\/Microsoft\.DataProtection\/BackupVaults\/clitest-bkp-vault-ecy-donotdelete\/backupJobs\/[0-9a-f-]{36}$/,
      );

      // 69–70: the Restore job, InProgress then Completed, shaped as recorded.
      const jobPath = `${String(rec[69]?.path).replace(/\/backupJobs\/.*$/, "")}/backupJobs/${jobId.split("/").pop()}`;
      const seen: Props[] = [];
      for (let i = 0; i < 2000; i++) {
        const job = (await call("Jobs_Get", "GET", jobPath)).body as { properties: Props };
        if (seen.at(-1)?.status !== job.properties.status) seen.push(job.properties);
        if (job.properties.status !== "InProgress") break;
        await sleep(5);
      }
      expect(seen.map((p) => p.status)).toEqual(["InProgress", "Completed"]);
      for (const [ours, i] of [
        [seen[0], 69],
        [seen[1], 70],
      ] as const) {
        const recorded = (rec[i]?.responseBody as { properties: Props }).properties;
        expect(keys(ours)).toEqual(keys(recorded));
        expect(keys(ours?.extendedInfo)).toEqual(keys(recorded.extendedInfo));
        const sub = (p: Props | undefined) => (p?.extendedInfo.subTasks as Array<Record<string, unknown>>)[0];
        expect(keys(sub(ours))).toEqual(keys(sub(recorded)));
        expect(keys(sub(ours)?.additionalDetails)).toEqual(keys(sub(recorded)?.additionalDetails));
        const same = (p: Props) => ({
          operation: p.operation,
          operationCategory: p.operationCategory,
          isUserTriggered: p.isUserTriggered,
          sourceDataStoreType: p.sourceDataStoreType,
          destinationDataStoreName: p.destinationDataStoreName,
          recoveryDestination: p.extendedInfo.recoveryDestination,
          dataTransferredInBytes: p.extendedInfo.dataTransferredInBytes,
          targetRecoverPoint: p.extendedInfo.targetRecoverPoint,
          additionalDetails: p.extendedInfo.additionalDetails,
          taskName: sub(p)?.taskName,
          taskStatus: sub(p)?.taskStatus,
        });
        expect(same(ours as Props)).toEqual(same(recorded));
      }
      expect((seen[1]?.extendedInfo.sourceRecoverPoint as { recoveryPointID: string }).recoveryPointID).toBe(
        pointId,
      );
      expect(problems).toEqual([]);
    });
  },
);
