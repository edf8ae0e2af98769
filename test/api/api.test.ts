import { describe, expect, it } from "vitest";
import { useAzurite } from "../support/azurite.js";
import { anApi } from "../fixtures/jobs/app.js";
import { aJob } from "../fixtures/jobs/azure.js";
import { aRequest } from "../fixtures/jobs/requests.js";
import { SUB, aServer, serverId } from "../fixtures/jobs/stores.js";
import type { JobRecord } from "../../src/lib/store/jobs.js";

const azurite = useAzurite();

const params = (serverName: string, subscriptionId = SUB) => ({
  subscriptionId,
  resourceGroup: "rg-db",
  serverName,
});
const backupsUrl = (name: string) => `http://localhost:7071/api/servers/${SUB}/rg-db/${name}/backups`;

function post(
  name: string,
  init: { token?: string; body?: string; headers?: Record<string, string>; subscriptionId?: string } = {},
) {
  return aRequest({
    method: "POST",
    url: backupsUrl(name),
    params: params(name, init.subscriptionId),
    ...(init.token ? { token: init.token } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
    headers: {
      "x-request-id": "req-1",
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
  });
}

function aJobRow(overrides: Partial<JobRecord>): JobRecord {
  return {
    jobId: "00000000-0000-0000-0000-000000000001",
    serverId: serverId("pg-one"),
    serverName: "pg-one",
    vaultId: "v",
    origin: "policy",
    status: "Completed",
    startTime: "2026-11-20T10:00:00.000Z",
    updatedAt: "2026-11-20T10:00:00.000Z",
    ...overrides,
  };
}

describe("POST /api/servers/{subscriptionId}/{resourceGroup}/{serverName}/backups", () => {
  it("starts a backup of a protected server and answers 202 with the job", async () => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(aServer("pg-one"));
    const res = await t.api.startBackup(
      post("pg-one", {
        token: await t.operator(),
        body: '{"retentionTag":"Weekly","reason":"before upgrade"}',
      }),
    );

    expect(res.status).toBe(202);
    const body = res.jsonBody as { jobId: string; status: string; statusUrl: string };
    expect(body).toEqual({
      jobId: body.jobId,
      status: "InProgress",
      statusUrl: `http://localhost:7071/api/jobs/${body.jobId}`,
    });
    expect(res.headers?.["x-request-id"]).toBe("req-1");
    expect(t.azure.starts).toEqual([
      { vaultId: aServer("pg-one").vaultId, instanceName: "pg-one-pg-one-inst", retentionTag: "Weekly" },
    ]);
    expect(await t.storage.jobs.getById(body.jobId)).toMatchObject({
      origin: "api",
      reason: "before upgrade",
      retentionTag: "Weekly",
      requestedBy: "44444444-4444-4444-4444-444444444444",
      serverId: serverId("pg-one"),
    });
    expect(await t.storage.activeJobs.listForServer(serverId("pg-one"))).toHaveLength(1);
  });

  it("accepts a bare-GUID job id from Azure as well as a full id", async () => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(aServer("pg-one"));
    t.azure.answerStartWith("bare");
    const res = await t.api.startBackup(post("pg-one", { token: await t.operator() }));
    const { jobId } = res.jsonBody as { jobId: string };
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await t.storage.jobs.getById(jobId)).toMatchObject({ jobId });
  });

  it("answers 409 with the protection state and the fix for a server that is not protected", async () => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(
      aServer("pg-two", { state: "MissingPermissions", fix: "az role assignment create ..." }),
    );
    const res = await t.api.startBackup(post("pg-two", { token: await t.operator() }));
    expect(res).toMatchObject({
      status: 409,
      jsonBody: {
        error: {
          code: "NotProtected",
          message: "Server pg-two is not protected (state: MissingPermissions).",
          target: serverId("pg-two"),
          fix: "az role assignment create ...",
        },
      },
    });
    expect(t.azure.calls.start).toBe(0);
  });

  it("answers 409 with the running job's id when a backup is already running", async () => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(aServer("pg-one"));
    const first = await t.api.startBackup(post("pg-one", { token: await t.operator() }));
    const { jobId } = first.jsonBody as { jobId: string };
    const second = await t.api.startBackup(post("pg-one", { token: await t.operator() }));
    expect(second).toMatchObject({
      status: 409,
      jsonBody: {
        error: {
          code: "BackupAlreadyRunning",
          message: `A backup of pg-one is already running: job ${jobId}.`,
          target: jobId,
        },
      },
    });
    expect(t.azure.calls.start).toBe(1);
  });

  it("starts one backup when two requests for the same server arrive together", async () => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(aServer("pg-one"));
    const token = await t.operator();
    const answers = await Promise.all([
      t.api.startBackup(post("pg-one", { token })),
      t.api.startBackup(post("pg-one", { token })),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    expect(answers.find((a) => a.status === 409)).toMatchObject({
      jsonBody: { error: { code: "BackupAlreadyRunning" } },
    });
    expect(t.azure.calls.start).toBe(1);
  });

  it("takes over a start claim left by a crashed request", async () => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(aServer("pg-one"));
    const vault = aServer("pg-one").vaultId ?? "";
    expect(
      await t.storage.activeJobs.claimServer(vault, serverId("pg-one"), new Date(Date.now() - 60 * 60_000)),
    ).toBe(true);
    const res = await t.api.startBackup(post("pg-one", { token: await t.operator() }));
    expect(res.status).toBe(202);
  });

  it("answers 403 for a server outside the configured scope", async () => {
    const t = await anApi(azurite.connectionString);
    const other = "22222222-2222-2222-2222-222222222222";
    const res = await t.api.startBackup(post("pg-one", { token: await t.operator(), subscriptionId: other }));
    expect(res).toMatchObject({
      status: 403,
      jsonBody: {
        error: { code: "OutOfScope", message: `Subscription ${other} is not in this app's scope.` },
      },
    });
  });

  it.each([
    ["no token", undefined, 401, "MissingToken"],
    ["a reader token", "reader", 403, "MissingRole"],
  ])("starts nothing with %s", async (_name, who, status, code) => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(aServer("pg-one"));
    const token = who === "reader" ? await t.reader() : undefined;
    const res = await t.api.startBackup(post("pg-one", { ...(token ? { token } : {}) }));
    expect(res).toMatchObject({ status, jsonBody: { error: { code } } });
    expect(t.azure.calls.start).toBe(0);
  });

  it.each([
    [
      "a server name with a quote",
      { name: "pg'one" },
      400,
      "InvalidResourceId",
      'Path parameter "serverName" must be 3-63 lower-case letters, digits and hyphens.',
    ],
    [
      "an OData operator in the name",
      { name: "pg-one or true" },
      400,
      "InvalidResourceId",
      'Path parameter "serverName" must be 3-63 lower-case letters, digits and hyphens.',
    ],
    [
      "a body over 64 KiB",
      { body: `{"reason":"${"x".repeat(66_000)}"}` },
      413,
      "PayloadTooLarge",
      "The request body is larger than 64 KiB.",
    ],
    [
      "a wrong content type",
      { body: "{}", headers: { "content-type": "text/xml" } },
      415,
      "UnsupportedMediaType",
      'Content type "text/xml" is not supported; send application/json.',
    ],
    [
      "an unknown field",
      { body: '{"retention":"x"}' },
      400,
      "UnknownField",
      "Unknown field(s) in the body: retention.",
    ],
    [
      "a bad retention tag",
      { body: '{"retentionTag":"a b"}' },
      400,
      "InvalidBody",
      "Invalid body field \"retentionTag\": must be a policy retention tag name (letters, digits, '-' and '_').",
    ],
  ])("refuses %s and starts nothing", async (_name, input, status, code, message) => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(aServer("pg-one"));
    const name = (input as { name?: string }).name ?? "pg-one";
    const res = await t.api.startBackup(
      post(name, {
        token: await t.operator(),
        ...((input as { body?: string }).body !== undefined
          ? { body: (input as { body: string }).body }
          : {}),
        ...((input as { headers?: Record<string, string> }).headers
          ? { headers: (input as { headers: Record<string, string> }).headers }
          : {}),
      }),
    );
    expect(res).toMatchObject({ status, jsonBody: { error: { code, message } } });
    expect(t.azure.calls.start).toBe(0);
  });
});

describe("GET /api/jobs", () => {
  it("finds a job by bare GUID and by full id", async () => {
    const t = await anApi(azurite.connectionString);
    const job = aJob({ server: "pg-one" });
    const vaultId = (job.id ?? "").split(/\/backupJobs\//i)[0] ?? "";
    await t.storage.jobs.saveAll([aJobRow({ jobId: job.name ?? "", jobResourceId: job.id ?? "", vaultId })]);
    for (const id of [job.name ?? "", job.id ?? "", (job.id ?? "").toUpperCase()]) {
      const res = await t.api.getJob(
        aRequest({
          url: `http://localhost:7071/api/jobs/${id}`,
          params: { jobId: id },
          token: await t.reader(),
        }),
      );
      expect(res).toMatchObject({
        status: 200,
        jsonBody: { jobId: job.name, status: "Completed", serverName: "pg-one" },
      });
    }
  });

  it.each([
    [
      "another subscription, group and vault",
      (id: string) =>
        id
          .replace(
            /\/subscriptions\/[^/]+\/resourceGroups\/[^/]+/i,
            "/subscriptions/22222222-2222-4222-8222-222222222222/resourceGroups/rg-other",
          )
          .replace(/backupVaults\/[^/]+/i, "backupVaults/bv-other"),
    ],
    [
      "another vault of the same group",
      (id: string) => id.replace(/backupVaults\/[^/]+/i, "backupVaults/bv-other"),
    ],
  ])("answers 404 JobNotFound for a full job id naming %s", async (_name, rename) => {
    const t = await anApi(azurite.connectionString);
    const job = aJob({ server: "pg-one" });
    const vaultId = (job.id ?? "").split(/\/backupJobs\//i)[0] ?? "";
    await t.storage.jobs.saveAll([aJobRow({ jobId: job.name ?? "", jobResourceId: job.id ?? "", vaultId })]);
    const other = rename(job.id ?? "");
    expect(other).not.toBe(job.id);
    const res = await t.api.getJob(aRequest({ params: { jobId: other.slice(1) }, token: await t.reader() }));
    expect(res).toMatchObject({
      status: 404,
      jsonBody: { error: { code: "JobNotFound", message: `Job ${job.name} is not in the backup history.` } },
    });
  });

  it("answers 404 for an unknown job and 400 for a malformed id", async () => {
    const t = await anApi(azurite.connectionString);
    const unknown = await t.api.getJob(
      aRequest({ params: { jobId: "00000000-0000-0000-0000-00000000abcd" }, token: await t.reader() }),
    );
    expect(unknown).toMatchObject({
      status: 404,
      jsonBody: {
        error: {
          code: "JobNotFound",
          message: "Job 00000000-0000-0000-0000-00000000abcd is not in the backup history.",
        },
      },
    });
    const bad = await t.api.getJob(aRequest({ params: { jobId: "' or 1 eq 1" }, token: await t.reader() }));
    expect(bad).toMatchObject({ status: 400, jsonBody: { error: { code: "InvalidJobId" } } });
  });

  it("lists a server's jobs by status and time, newest first, paged with a continuation token", async () => {
    const t = await anApi(azurite.connectionString);
    const rows = [1, 2, 3, 4].map((n) =>
      aJobRow({
        jobId: `00000000-0000-0000-0000-00000000000${n}`,
        startTime: `2026-11-2${n}T10:00:00.000Z`,
        status: n === 2 ? "Failed" : "Completed",
      }),
    );
    rows.push(
      aJobRow({
        jobId: "00000000-0000-0000-0000-000000000009",
        serverId: serverId("pg-other"),
        serverName: "pg-other",
      }),
    );
    await t.storage.jobs.saveAll(rows);
    const url = new URL("http://localhost:7071/api/jobs");
    url.searchParams.set("server", serverId("pg-one"));
    url.searchParams.set("status", "Completed");
    url.searchParams.set("since", "2026-11-20T00:00:00Z");
    url.searchParams.set("top", "2");
    const page1 = await t.api.listJobs(aRequest({ url: url.toString(), token: await t.reader() }));
    const body1 = page1.jsonBody as { value: Array<{ jobId: string }>; nextLink?: string };
    expect(body1.value.map((j) => j.jobId.slice(-1))).toEqual(["4", "3"]);
    expect(body1.nextLink).toBeDefined();
    const page2 = await t.api.listJobs(aRequest({ url: body1.nextLink ?? "", token: await t.reader() }));
    expect(
      (page2.jsonBody as { value: Array<{ jobId: string }> }).value.map((j) => j.jobId.slice(-1)),
    ).toEqual(["1"]);
  });

  it("refuses one server's continuation token on another server's jobs", async () => {
    const t = await anApi(azurite.connectionString);
    await t.storage.jobs.saveAll(
      [1, 2, 3].flatMap((n) =>
        ["pg-one", "pg-other"].map((name) =>
          aJobRow({
            jobId: `00000000-0000-0000-0000-0000000${name === "pg-one" ? "1" : "2"}000${n}`,
            serverId: serverId(name),
            serverName: name,
            startTime: `2026-11-2${n}T10:00:00.000Z`,
          }),
        ),
      ),
    );
    const list = (name: string, token?: string) => {
      const url = new URL("http://localhost:7071/api/jobs?top=2");
      url.searchParams.set("server", serverId(name));
      if (token) url.searchParams.set("continuationToken", token);
      return t.reader().then((reader) => t.api.listJobs(aRequest({ url: url.toString(), token: reader })));
    };
    const first = (await list("pg-one")).jsonBody as { continuationToken?: string };
    expect(first.continuationToken).toBeDefined();
    expect(await list("pg-other", first.continuationToken)).toMatchObject({
      status: 400,
      jsonBody: { error: { code: "InvalidContinuationToken", target: "continuationToken" } },
    });
    const rest = (await list("pg-one", first.continuationToken)).jsonBody as {
      value: Array<{ jobId: string }>;
    };
    expect(rest.value.map((j) => j.jobId.slice(-5))).toEqual(["10001"]);
  });

  it.each([
    ["an unknown parameter", "stauts=Failed", "UnknownQueryParameter"],
    ["30 February", "since=2026-02-30T00:00:00Z", "InvalidQueryParameter"],
    [
      "a token shaped like the Tables SDK's",
      `continuationToken=${Buffer.from(JSON.stringify({ nextPartitionKey: "x", nextRowKey: "y" })).toString("base64")}`,
      "InvalidContinuationToken",
    ],
    ["a quote in the server filter", "server=x' or PartitionKey ne 'a", "InvalidQueryParameter"],
    ["an unknown status", "status=Done", "InvalidQueryParameter"],
    ["a date without zone", "since=2026-11-20T10:00", "InvalidQueryParameter"],
    ["a forged continuation token", "continuationToken=abc", "InvalidContinuationToken"],
  ])("refuses %s with 400", async (_name, query, code) => {
    const t = await anApi(azurite.connectionString);
    const res = await t.api.listJobs(
      aRequest({ url: `http://localhost:7071/api/jobs?${query}`, token: await t.reader() }),
    );
    expect(res).toMatchObject({ status: 400, jsonBody: { error: { code } } });
  });
});

describe("GET /api/servers", () => {
  it("shows a server's protection state, policy, vault and last backup", async () => {
    const t = await anApi(azurite.connectionString);
    await t.storage.servers.create(aServer("pg-one"));
    await t.storage.jobs.saveAll([aJobRow({ status: "Failed", endTime: "2026-11-20T10:05:00.000Z" })]);
    const res = await t.api.getServer(aRequest({ params: params("pg-one"), token: await t.reader() }));
    expect(res).toMatchObject({
      status: 200,
      jsonBody: {
        id: serverId("pg-one"),
        state: "Protected",
        policyName: "pgflex-weekly",
        vaultId: aServer("pg-one").vaultId,
        lastBackup: {
          jobId: "00000000-0000-0000-0000-000000000001",
          status: "Failed",
          startTime: "2026-11-20T10:00:00.000Z",
          endTime: "2026-11-20T10:05:00.000Z",
        },
      },
    });
    const list = await t.api.listServers(
      aRequest({ url: "http://localhost:7071/api/servers", token: await t.reader() }),
    );
    expect((list.jsonBody as { value: Array<{ name: string }> }).value.map((s) => s.name)).toEqual([
      "pg-one",
    ]);
  });

  it("pages the server list with top and a continuation token, with a nextLink without the function key", async () => {
    const t = await anApi(azurite.connectionString);
    for (const name of ["pg-c", "pg-a", "pg-b"]) await t.storage.servers.create(aServer(name));
    const page1 = await t.api.listServers(
      aRequest({ url: "http://localhost:7071/api/servers?top=2&code=secret", token: await t.reader() }),
    );
    const body1 = page1.jsonBody as {
      value: Array<{ name: string }>;
      continuationToken?: string;
      nextLink?: string;
    };
    expect(body1.value.map((s) => s.name)).toEqual(["pg-a", "pg-b"]);
    expect(body1.nextLink).toBe(
      `http://localhost:7071/api/servers?top=2&continuationToken=${body1.continuationToken}`,
    );
    const page2 = await t.api.listServers(aRequest({ url: body1.nextLink ?? "", token: await t.reader() }));
    expect(page2.jsonBody).toEqual({ value: [expect.objectContaining({ name: "pg-c" })] });
  });

  it.each([
    ["a forged continuation token", "continuationToken=abc", "InvalidContinuationToken"],
    ["a top above 1000", "top=1001", "InvalidQueryParameter"],
  ])("refuses a server listing with %s with 400", async (_name, query, code) => {
    const t = await anApi(azurite.connectionString);
    const res = await t.api.listServers(
      aRequest({ url: `http://localhost:7071/api/servers?${query}`, token: await t.reader() }),
    );
    expect(res).toMatchObject({ status: 400, jsonBody: { error: { code, target: query.split("=")[0] } } });
  });

  it("answers 404 for a server the app does not know", async () => {
    const t = await anApi(azurite.connectionString);
    const res = await t.api.getServer(aRequest({ params: params("pg-nine"), token: await t.reader() }));
    expect(res).toMatchObject({
      status: 404,
      jsonBody: { error: { code: "ServerNotFound", message: "Server pg-nine is not known to this app." } },
    });
  });
});
