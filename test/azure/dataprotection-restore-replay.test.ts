import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { fakeCredential } from "./fakes.js";
import { DataProtectionClient } from "../../src/lib/azure/dataprotection/client.js";
import type {
  AzureBackupRecoveryPointBasedRestoreRequest,
  ValidateRestoreRequestObject,
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
const pointId = "64c119855c104fa3ac83d46c9b96647a";
const restoreJob = "571e2403-8092-49ca-ac77-474a6e329270";

function redirectTo(target: string): PipelinePolicy {
  return {
    name: "redirectToReplay",
    sendRequest: (request, next) => {
      request.url = request.url.replace(/^https:\/\/management\.azure\.com/i, target);
      return next(request);
    },
  };
}

describe.skipIf(!haveRecording)("Data Protection restore calls against the recorded Azure answers", () => {
  let entries: RecordedEntry[];
  let server: ReplayServer;
  let client: DataProtectionClient;

  beforeAll(async () => {
    const all = JSON.parse(readFileSync(recordingPath, "utf8")) as RecordedEntry[];
    // Entries 51-70: recovery points, the role on the account, validateRestore, restore and its job.
    entries = all;
    server = await startReplayServer(all.slice(51, 71));
    client = new DataProtectionClient(fakeCredential, sub, {
      additionalPolicies: [{ policy: redirectTo(server.url), position: "perCall" }],
      tlsOptions: { ca: server.caCert },
      updateIntervalInMs: 1,
    });
  });
  afterAll(async () => server?.close());

  it("lists the recovery point, validates, restores from a resumed poller and follows the Restore job", async () => {
    // 51: the recovery points.
    const points = await toArray(client.recoveryPoints.list(rg, vault, instance));
    expect(points).toHaveLength(1);
    expect(points[0]?.name).toBe(pointId);
    expect(points[0]?.properties).toMatchObject({
      objectType: "AzureBackupDiscreteRecoveryPoint",
      recoveryPointId: pointId,
      recoveryPointTime: "2024-04-10T10:30:46.2303875Z",
      retentionTagName: "default",
      policyName: "pgflexpolicy",
      recoveryPointState: "Completed",
    });
    expect(points[0]?.properties?.recoveryPointDataStoresDetails?.[0]?.type).toBe("VaultStore");

    // 61-64: validateRestore: 202, Inprogress (twice), Succeeded, then the Location result.
    const validated = await client.backupInstances.beginValidateForRestoreAndWait(
      rg,
      vault,
      instance,
      entries[61]?.requestBody as ValidateRestoreRequestObject,
    );
    expect(validated).toEqual({ objectType: "OperationJobExtendedInfo" });

    // 65-68: restore, saved after the 202 and resumed as a later invocation would; the job id is a full id.
    const request = entries[65]?.requestBody as AzureBackupRecoveryPointBasedRestoreRequest;
    const started = client.backupInstances.beginTriggerRestore(rg, vault, instance, request);
    await started.submitted();
    const saved = await started.serialize();
    expect(saved).toContain("/operationStatus/");
    const resumed = client.backupInstances.beginTriggerRestore(rg, vault, instance, request, {
      resumeFrom: saved,
    });
    const restored = await resumed.pollUntilDone();
    expect(restored).toEqual({
      objectType: "OperationJobExtendedInfo",
      jobId: restoreJob,
      rawJobId: `/subscriptions/${sub}/resourcegroups/${rg}/providers/Microsoft.DataProtection/BackupVaults/${vault}/backupJobs/${restoreJob}`,
      jobResourceId: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.DataProtection/backupVaults/${vault}/backupJobs/${restoreJob}`,
    });

    // 69-70: the Restore job, InProgress then Completed, with its source point and destination.
    let job = await client.jobs.get(rg, vault, restored.rawJobId);
    expect(job.properties?.operationCategory).toBe("Restore");
    expect(job.properties?.status).toBe("InProgress");
    job = await client.jobs.get(rg, vault, restored.jobId);
    expect(job.properties?.status).toBe("Completed");
    expect(job.properties?.extendedInfo?.sourceRecoverPoint?.recoveryPointID).toBe(pointId);
    expect(job.properties?.extendedInfo?.recoveryDestination).toBe(
      "https://clitestecysa.blob.core.windows.net/clitestpgflexblob",
    );

    const posts = server.seen.filter((r) => r.method === "POST");
    expect(posts.map((p) => p.path.split("/").pop())).toEqual(["validateRestore", "restore"]);
    expect(posts[0]?.body).toEqual(entries[61]?.requestBody);
    expect(posts[1]?.body).toEqual(request);
    expect(posts[1]?.apiVersion).toBe("2024-04-01");
    expect(server.unmatched).toEqual([]);
  });
});
