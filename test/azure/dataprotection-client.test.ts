import { afterEach, describe, expect, it, vi } from "vitest";
import { createHttpHeaders } from "@azure/core-rest-pipeline";
import type { HttpClient, PipelineRequest } from "@azure/core-rest-pipeline";
import { fakeCredential } from "./fakes.js";
import { DataProtectionClient } from "../../src/lib/azure/dataprotection/client.js";
import { isArmRestError } from "../../src/lib/azure/arm-error.js";
import type { ArmRestError } from "../../src/lib/azure/arm-error.js";
import { toArray } from "../support/asyncIterables.js";
import { normalizeJobId, parseVaultId } from "../../src/lib/azure/ids.js";

const sub = "11111111-1111-1111-1111-111111111111";
const base = "https://arm.test";
const vaultPath = `/subscriptions/${sub}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-weu`;

type Answer = { status: number; headers?: Record<string, string>; body?: unknown };

/** A fake transport: answers by "METHOD path" (query ignored), each key in order; records what was sent. */
function aFakeArm(routes: Record<string, Answer[]>): { httpClient: HttpClient; sent: PipelineRequest[] } {
  const sent: PipelineRequest[] = [];
  return {
    sent,
    httpClient: {
      async sendRequest(request) {
        sent.push(request);
        const u = new URL(request.url);
        const key = `${request.method} ${u.pathname}`;
        const q = routes[key];
        const a = q && q.length > 1 ? q.shift() : q?.[0];
        const answer: Answer = a ?? {
          status: 404,
          body: { error: { code: "NotFound", message: `no route ${key}` } },
        };
        return {
          request,
          status: answer.status,
          headers: createHttpHeaders({
            ...(answer.body === undefined ? {} : { "content-type": "application/json" }),
            ...answer.headers,
          }),
          bodyAsText: answer.body === undefined ? "" : JSON.stringify(answer.body),
        };
      },
    },
  };
}

function aClient(routes: Record<string, Answer[]>) {
  const fake = aFakeArm(routes);
  const client = new DataProtectionClient(fakeCredential, sub, {
    endpoint: base,
    httpClient: fake.httpClient,
    updateIntervalInMs: 1,
  });
  return { client, sent: fake.sent };
}

const validateBody = {
  backupInstance: {
    objectType: "BackupInstance",
    dataSourceInfo: {
      resourceID: `/subscriptions/${sub}/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1`,
    },
    policyInfo: { policyId: `${vaultPath}/backupPolicies/weekly` },
  },
};

async function caught(p: Promise<unknown>): Promise<ArmRestError> {
  try {
    await p;
  } catch (e) {
    if (isArmRestError(e)) return e;
    throw e;
  }
  throw new Error("expected a RestError");
}

describe("DataProtectionClient", () => {
  it("throws a RestError carrying ARM's code, message and details for a 4xx answer", async () => {
    const { client } = aClient({
      [`POST ${vaultPath}/validateForBackup`]: [
        {
          status: 400,
          body: {
            error: {
              code: "UserErrorInvalidRequestParameter",
              message: "objectType is missing.",
              details: [
                {
                  code: "MissingObjectType",
                  message: "objectType is required.",
                  target: "backupInstance.objectType",
                },
              ],
            },
          },
        },
      ],
    });
    const error = await caught(
      client.backupInstances.beginValidateForBackupAndWait("rg-backup", "bv-weu", validateBody),
    );
    expect(error.name).toBe("RestError");
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("UserErrorInvalidRequestParameter");
    expect(error.message).toBe("objectType is missing.");
    expect(error.details).toEqual([
      { code: "MissingObjectType", message: "objectType is required.", target: "backupInstance.objectType" },
    ]);
  });

  it("turns a failed operation status into a RestError with the operation's ARM code and status 400 for a user error", async () => {
    const status = `${vaultPath}/operationStatus/op1`;
    const message =
      "Backup vault managed identity is missing the role PostgreSQL Flexible Server Long Term Retention Backup Role on /subscriptions/x/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1.";
    const { client } = aClient({
      [`POST ${vaultPath}/validateForBackup`]: [
        { status: 202, headers: { "azure-asyncoperation": `${base}${status}?api-version=2024-04-01` } },
      ],
      [`GET ${status}`]: [
        { status: 200, body: { id: status, name: "op1", status: "Inprogress" } },
        {
          status: 200,
          body: {
            id: status,
            name: "op1",
            status: "Failed",
            error: { code: "UserErrorMissingRequiredPermissions", message },
          },
        },
      ],
    });
    const error = await caught(
      client.backupInstances.beginValidateForBackupAndWait("rg-backup", "bv-weu", validateBody),
    );
    expect(error.code).toBe("UserErrorMissingRequiredPermissions");
    expect(error.message).toBe(message);
    expect(error.statusCode).toBe(400);
  });

  it("gives a failed operation whose code is not a user error the status 500, not the status poll's 200", async () => {
    const status = `${vaultPath}/operationStatus/op9`;
    const { client } = aClient({
      [`DELETE ${vaultPath}/backupInstances/pg1-bi`]: [
        { status: 202, headers: { "azure-asyncoperation": `${base}${status}?api-version=2024-04-01` } },
      ],
      [`GET ${status}`]: [
        {
          status: 200,
          body: {
            id: status,
            name: "op9",
            status: "Failed",
            error: { code: "InternalServerError", message: "An internal error occurred." },
          },
        },
      ],
    });
    const error = await caught(client.backupInstances.beginDeleteAndWait("rg-backup", "bv-weu", "pg1-bi"));
    expect(error.name).toBe("RestError");
    expect(error.statusCode).toBe(500);
    expect(error.code).toBe("InternalServerError");
    expect(error.message).toBe("An internal error occurred.");
  });

  it("normalises a bare GUID job id and builds the job's resource id from the vault", async () => {
    const status = `${vaultPath}/operationStatus/op2`;
    const result = `/subscriptions/${sub}/providers/Microsoft.DataProtection/locations/westeurope/operationResults/op2`;
    const { client } = aClient({
      [`POST ${vaultPath}/backupInstances/pg1-bi/backup`]: [
        {
          status: 202,
          headers: { "azure-asyncoperation": `${base}${status}`, location: `${base}${result}` },
        },
      ],
      [`GET ${status}`]: [{ status: 200, body: { status: "Succeeded" } }],
      [`GET ${result}`]: [
        {
          status: 200,
          body: { objectType: "OperationJobExtendedInfo", jobId: "A0B1C2D3-0000-4000-8000-000000000001" },
        },
      ],
    });
    const r = await client.backupInstances.beginAdhocBackupAndWait("rg-backup", "bv-weu", "pg1-bi", {
      backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: { retentionTagOverride: "Default" } },
    });
    expect(r).toEqual({
      objectType: "OperationJobExtendedInfo",
      jobId: "a0b1c2d3-0000-4000-8000-000000000001",
      rawJobId: "A0B1C2D3-0000-4000-8000-000000000001",
      jobResourceId: `${vaultPath}/backupJobs/a0b1c2d3-0000-4000-8000-000000000001`,
    });
  });

  it("follows nextLink across the job list's pages, sending no query parameter but api-version", async () => {
    const jobs = `${vaultPath}/backupJobs`;
    const { client, sent } = aClient({
      [`GET ${jobs}`]: [
        {
          status: 200,
          body: { value: [{ name: "j1" }], nextLink: `${base}${jobs}?api-version=2024-04-01&$skipToken=1` },
        },
        { status: 200, body: { value: [{ name: "j2" }] } },
      ],
    });
    const all = await toArray(client.jobs.list("rg-backup", "bv-weu"));
    expect(all.map((j) => j.name)).toEqual(["j1", "j2"]);
    expect([...new URL(sent[0]?.url ?? "").searchParams.keys()]).toEqual(["api-version"]);
    expect(new URL(sent[1]?.url ?? "").searchParams.get("$skipToken")).toBe("1");
  });

  it("treats deleting an instance that is already gone as done", async () => {
    const { client } = aClient({
      [`DELETE ${vaultPath}/backupInstances/gone`]: [
        { status: 404, body: { error: { code: "ResourceNotFound", message: "gone" } } },
      ],
    });
    await expect(
      client.backupInstances.beginDeleteAndWait("rg-backup", "bv-weu", "gone"),
    ).resolves.toBeUndefined();
  });

  it("refuses subscription-scoped calls when created without a subscription", async () => {
    const client = new DataProtectionClient(fakeCredential, undefined, {
      endpoint: base,
      httpClient: aFakeArm({}).httpClient,
    });
    await expect(client.backupVaults.get("rg", "v")).rejects.toThrow(
      "This DataProtectionClient was created without a subscriptionId.",
    );
  });
});

describe("DataProtectionClient pollers", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const status = `${vaultPath}/operationStatus/op3`;
  const validateRoutes = (): Record<string, Answer[]> => ({
    [`POST ${vaultPath}/validateForBackup`]: [
      { status: 202, headers: { "azure-asyncoperation": `${base}${status}` } },
    ],
    [`GET ${status}`]: [
      { status: 200, headers: { "retry-after": "30" }, body: { status: "Inprogress" } },
      { status: 200, body: { status: "Succeeded" } },
    ],
  });

  it("waits the Retry-After the service asks for between polls", async () => {
    vi.useFakeTimers();
    const { client, sent } = aClient(validateRoutes());
    const polls = () => sent.filter((r) => r.url.includes("/operationStatus/")).length;
    const done = client.backupInstances.beginValidateForBackupAndWait("rg-backup", "bv-weu", validateBody);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(polls()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(done).resolves.toEqual({ objectType: "OperationJobExtendedInfo" });
    expect(polls()).toBe(2);
  });

  it("stops polling when the caller aborts", async () => {
    const { client } = aClient(validateRoutes());
    const controller = new AbortController();
    const poller = client.backupInstances.beginValidateForBackup("rg-backup", "bv-weu", validateBody);
    await poller.submitted();
    const waiting = poller.pollUntilDone({ abortSignal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("ids", () => {
  it("reads a job GUID from a full id in any casing or from the GUID itself", () => {
    expect(
      normalizeJobId(
        "/subscriptions/0/resourcegroups/rg/providers/Microsoft.DataProtection/BackupVaults/v/backupJobs/984F46DF-cf32-4880-a934-5a4dbad70eab",
      ),
    ).toBe("984f46df-cf32-4880-a934-5a4dbad70eab");
    expect(normalizeJobId("984f46df-cf32-4880-a934-5a4dbad70eab")).toBe(
      "984f46df-cf32-4880-a934-5a4dbad70eab",
    );
    expect(() => normalizeJobId("not-a-job")).toThrow(
      '"not-a-job" is neither a backup job id nor a job GUID.',
    );
  });

  it("parses a vault id and rejects anything else", () => {
    expect(parseVaultId(vaultPath)).toEqual({
      subscriptionId: sub,
      resourceGroupName: "rg-backup",
      vaultName: "bv-weu",
    });
    expect(() => parseVaultId("/subscriptions/x")).toThrow(
      '"/subscriptions/x" is not a Backup vault resource id.',
    );
  });
});
