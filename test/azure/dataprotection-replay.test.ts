import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { fakeCredential } from "./fakes.js";
import { DataProtectionClient } from "../../src/lib/azure/dataprotection/client.js";
import type {
  BackupInstanceResource,
  TriggerBackupRequest,
  ValidateForBackupRequest,
} from "../../src/lib/azure/dataprotection/models.js";
import { toArray } from "../support/asyncIterables.js";
import { REFERENCE_DIR } from "../emulator/spec.js";
import { startReplayServer } from "./replay-server.js";
import type { RecordedEntry, ReplayServer } from "./replay-server.js";

const recordingPath = join(REFERENCE_DIR, "recordings", "pgflex-backup-and-restore.json");
const haveRecording = existsSync(recordingPath);

const sub = "00000000-0000-0000-0000-000000000000";
const rg = "clitest-dpp-ecy-rg";
const vault = "clitest-bkp-vault-ecy-donotdelete";
const instance = "clitest-pgflex-server-faec6818-0720-11ec-bd1b-c8f750f92764";

/** The recording's operation URLs point at management.azure.com; the client uses them verbatim and this sends them here. */
function redirectTo(target: string): PipelinePolicy {
  return {
    name: "redirectToReplay",
    sendRequest: (request, next) => {
      request.url = request.url.replace(/^https:\/\/management\.azure\.com/i, target);
      return next(request);
    },
  };
}

describe.skipIf(!haveRecording)(
  "Data Protection client against the recorded Azure answers (needs ../shared)",
  () => {
    let entries: RecordedEntry[];
    let server: ReplayServer;
    let client: DataProtectionClient;

    beforeAll(async () => {
      entries = JSON.parse(readFileSync(recordingPath, "utf8")) as RecordedEntry[];
      server = await startReplayServer(entries);
      client = new DataProtectionClient(fakeCredential, sub, {
        additionalPolicies: [{ policy: redirectTo(server.url), position: "perCall" }],
        tlsOptions: { ca: server.caCert },
        updateIntervalInMs: 1,
      });
    });
    afterAll(async () => server?.close());

    const body = (i: number): unknown => entries[i]?.requestBody;

    it("replays the whole protect, back up and delete sequence and parses every answer", async () => {
      // 0: the old instance is deleted (204: nothing to poll).
      await client.backupInstances.beginDeleteAndWait(rg, vault, instance, { updateIntervalInMs: 1 });

      // 1-5: validateForBackup: 202, status Inprogress → Succeeded, then the Location result.
      const validated = await client.backupInstances.beginValidateForBackupAndWait(
        rg,
        vault,
        body(1) as ValidateForBackupRequest,
      );
      expect(validated).toEqual({ objectType: "OperationJobExtendedInfo" });

      // 6-10: the second validate, resumed from a serialized poller as a later invocation would.
      const started = client.backupInstances.beginValidateForBackup(
        rg,
        vault,
        body(6) as ValidateForBackupRequest,
      );
      await started.submitted();
      const saved = await started.serialize();
      expect(saved).toContain("/operationStatus/");
      const resumed = client.backupInstances.beginValidateForBackup(
        rg,
        vault,
        body(6) as ValidateForBackupRequest,
        { resumeFrom: saved },
      );
      await expect(resumed.pollUntilDone()).resolves.toEqual({ objectType: "OperationJobExtendedInfo" });

      // 11-14: PUT 201 with only Azure-AsyncOperation; the result is the final GET of the instance.
      const created = await client.backupInstances.beginCreateOrUpdateAndWait(
        rg,
        vault,
        instance,
        body(11) as BackupInstanceResource,
      );
      expect(created.name).toBe(instance);
      expect(created.properties?.currentProtectionState).toBe("ConfiguringProtection");

      // 15: list.
      const listed = await toArray(client.backupInstances.list(rg, vault));
      expect(listed.map((i) => i.name)).toContain(instance);

      // 16-18: GET until ProtectionConfigured.
      let state: string | undefined;
      for (let i = 0; i < 10 && state !== "ProtectionConfigured"; i++) {
        state = (await client.backupInstances.get(rg, vault, instance)).properties?.protectionStatus?.status;
      }
      expect(state).toBe("ProtectionConfigured");

      // 19-22: ad hoc backup; the service returned the job as a full id with its own casing.
      const backup = await client.backupInstances.beginAdhocBackupAndWait(
        rg,
        vault,
        instance,
        body(19) as TriggerBackupRequest,
      );
      expect(backup).toEqual({
        objectType: "OperationJobExtendedInfo",
        jobId: "984f46df-cf32-4880-a934-5a4dbad70eab",
        rawJobId:
          "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/clitest-dpp-ecy-rg/providers/Microsoft.DataProtection/BackupVaults/clitest-bkp-vault-ecy-donotdelete/backupJobs/984f46df-cf32-4880-a934-5a4dbad70eab",
        jobResourceId:
          "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/clitest-dpp-ecy-rg/providers/Microsoft.DataProtection/backupVaults/clitest-bkp-vault-ecy-donotdelete/backupJobs/984f46df-cf32-4880-a934-5a4dbad70eab",
      });

      // 23-50: the job, polled from InProgress to Completed.
      let job = await client.jobs.get(rg, vault, backup.rawJobId);
      expect(job.properties?.status.toLowerCase()).toBe("inprogress");
      for (let i = 0; i < 40 && job.properties?.status.toLowerCase() === "inprogress"; i++) {
        job = await client.jobs.get(rg, vault, backup.jobId);
      }
      expect(job.properties?.status).toBe("Completed");
      expect(job.properties?.duration).toBe("PT12M15.8223345S");
      expect(job.properties?.extendedInfo?.dataTransferredInBytes).toBe(69088);
      expect(job.properties?.extendedInfo?.subTasks?.[0]?.taskName).toBe("Trigger Backup");

      // 71: the final delete answers 202 with both headers: the poller starts and can be saved.
      const deleting = client.backupInstances.beginDelete(rg, vault, instance);
      await deleting.submitted();
      expect(deleting.operationState?.status).toBe("running");
      expect(await deleting.serialize()).toContain(
        "operationStatus/ZTUwMGQ3OTktMDE0Ni00YWNhLTljYTgtYzhlNjgzMGY5MTU1OzZiYjE3ZGQz",
      );

      expect(server.unmatched).toEqual([]);
    });

    it("sends the recorded request bodies unchanged and the pinned api-version on its own URLs", async () => {
      const posts = server.seen.filter((r) => r.method === "POST" && r.path.endsWith("/validateForBackup"));
      expect(posts[0]?.body).toEqual(body(1));
      const put = server.seen.find((r) => r.method === "PUT");
      expect(put?.body).toEqual(body(11));
      expect(put?.apiVersion).toBe("2024-04-01");
      // Operation URLs come from the service's headers and keep its api-version.
      const poll = server.seen.find((r) => r.path.includes("/operationStatus/"));
      expect(poll?.apiVersion).toBe("2023-11-01");
    });
  },
);
