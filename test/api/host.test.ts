import { beforeAll, describe, expect, it } from "vitest";
import { createServerStore } from "../../src/lib/store/servers.js";
import { createJobStore } from "../../src/lib/store/jobs.js";
import { useAzurite } from "../support/azurite.js";
import { useJwksServer } from "../support/jwks.js";
import { tablesAt } from "../support/tables.js";
import { useLocalHost } from "../support/localHost.js";
import { AUDIENCE, TENANT, aKeySet } from "../fixtures/jobs/tokens.js";
import { SUB, aServer, serverId } from "../fixtures/jobs/stores.js";

/**
 * The API end to end through the local Functions host: function keys as the outer gate, Entra ID
 * tokens checked in the app against a JWKS served on loopback, tables in Azurite.
 */
const keySet = await aKeySet();
const jwks = useJwksServer(keySet.jwks, "/discovery/v2.0/keys");

const azurite = useAzurite();
const host = useLocalHost(() => ({
  env: {
    AzureWebJobsStorage: azurite.connectionString,
    PGFLEX_SCOPES: SUB,
    PGFLEX_AUTH_TENANT_ID: TENANT,
    PGFLEX_AUTH_AUDIENCE: AUDIENCE,
    PGFLEX_AUTH_JWKS_URI: jwks.url,
    PGFLEX_ARM_ENDPOINT: "https://127.0.0.1:9",
    PGFLEX_ARM_CREDENTIAL: "emulator",
  },
}));

async function call(
  path: string,
  init: { method?: string; token?: string; key?: string | null; body?: string; contentType?: string } = {},
) {
  const url = new URL(`/api/${path}`, host.url);
  const key = init.key === undefined ? host.functionKey : init.key;
  const headers: Record<string, string> = { "x-request-id": "e2e-1" };
  if (key) headers["x-functions-key"] = key;
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = init.contentType ?? "application/json";
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  const json = res.headers.get("content-type")?.includes("json") ?? false;
  return {
    status: res.status,
    requestId: res.headers.get("x-request-id"),
    headers: res.headers,
    body: json && text ? (JSON.parse(text) as unknown) : text,
  };
}

describe("API through the local host", () => {
  beforeAll(async () => {
    await createServerStore(tablesAt(azurite.connectionString)).create(
      aServer("pg-two", {
        state: "UnknownPolicyTag",
        fix: "Use a backup tag value listed in PGFLEX_POLICY_MAP.",
      }),
    );
    await createServerStore(tablesAt(azurite.connectionString)).create(aServer("pg-one"));
    await createJobStore(tablesAt(azurite.connectionString)).saveAll([
      {
        jobId: "984f46df-cf32-4880-a934-5a4dbad70eab",
        serverId: serverId("pg-one"),
        serverName: "pg-one",
        vaultId: aServer("pg-one").vaultId ?? "",
        origin: "policy",
        status: "Completed",
        startTime: "2026-11-24T10:19:22.246Z",
        endTime: "2026-11-24T10:31:38.069Z",
        durationInMs: 735_822,
        bytesTransferred: 69_088,
        updatedAt: "2026-11-24T10:32:00.000Z",
      },
    ]);
  });

  it("refuses a call without the function key before the app sees it", async () => {
    const res = await call("jobs", { key: null, token: await keySet.mint() });
    expect(res.status).toBe(401);
  });

  it("refuses a call with the function key but no token, echoing the request id", async () => {
    const { headers: _headers, ...res } = await call("jobs");
    expect(res).toEqual({
      status: 401,
      requestId: "e2e-1",
      body: {
        error: {
          code: "MissingToken",
          message: "The request has no bearer token.",
          fix: "Send Authorization: Bearer <token> with a Microsoft Entra ID token for this API.",
        },
      },
    });
  });

  it("refuses an expired token and a wrong-audience token", async () => {
    expect((await call("jobs", { token: await keySet.mint({ expiresInSeconds: -600 }) })).body).toMatchObject(
      { error: { code: "TokenExpired" } },
    );
    expect((await call("jobs", { token: await keySet.mint({ aud: "api://other" }) })).body).toMatchObject({
      error: { code: "InvalidAudience" },
    });
  });

  it("answers a list, a refusal and the liveness probe with nosniff and no-store", async () => {
    const token = await keySet.mint({ roles: ["Backup.Reader"] });
    const answers = [
      await call("servers", { token }),
      await call("jobs?%3Cb%3Ehi%3C%2Fb%3E=1", { token }),
      await call("health"),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 400, 200]);
    for (const answer of answers) {
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
      expect(answer.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("lists the job history and reads one job with a reader token", async () => {
    const token = await keySet.mint({ roles: ["Backup.Reader"] });
    const list = await call(`jobs?server=${encodeURIComponent(serverId("pg-one"))}`, { token });
    expect(list.body).toMatchObject({ value: expect.any(Array) });
    expect((list.body as { value: unknown[] }).value).toEqual([
      expect.objectContaining({
        jobId: "984f46df-cf32-4880-a934-5a4dbad70eab",
        status: "Completed",
        durationInMs: 735_822,
        bytesTransferred: 69_088,
      }),
    ]);
    const one = await call("jobs/984f46df-cf32-4880-a934-5a4dbad70eab", { token });
    expect(one).toMatchObject({
      status: 200,
      body: { jobId: "984f46df-cf32-4880-a934-5a4dbad70eab", serverName: "pg-one" },
    });
    const full = await call(
      `jobs${aServer("pg-one").vaultId}/backupJobs/984f46df-cf32-4880-a934-5a4dbad70eab`,
      { token },
    );
    expect(full).toMatchObject({ status: 200, body: { jobId: "984f46df-cf32-4880-a934-5a4dbad70eab" } });
  });

  it("shows servers with their protection state and last backup", async () => {
    const token = await keySet.mint({ roles: ["Backup.Reader"] });
    const res = await call(`servers/${SUB}/rg-db/pg-one`, { token });
    expect(res).toMatchObject({
      status: 200,
      body: {
        state: "Protected",
        policyName: "pgflex-weekly",
        lastBackup: { status: "Completed", jobId: "984f46df-cf32-4880-a934-5a4dbad70eab" },
      },
    });
    const all = await call("servers", { token });
    expect((all.body as { value: Array<{ name: string }> }).value.map((s) => s.name).sort()).toEqual([
      "pg-one",
      "pg-two",
    ]);
  });

  it("refuses a backup start from a reader with 403", async () => {
    const res = await call(`servers/${SUB}/rg-db/pg-one/backups`, {
      method: "POST",
      token: await keySet.mint({ roles: ["Backup.Reader"] }),
    });
    expect(res).toMatchObject({
      status: 403,
      body: {
        error: { code: "MissingRole", message: "The caller does not have the app role Backup.Operator." },
      },
    });
  });

  it("answers 409 with the state and fix for a server that is not protected", async () => {
    const res = await call(`servers/${SUB}/rg-db/pg-two/backups`, {
      method: "POST",
      token: await keySet.mint({ roles: ["Backup.Operator"] }),
      body: "{}",
    });
    expect(res).toMatchObject({
      status: 409,
      requestId: "e2e-1",
      body: {
        error: {
          code: "NotProtected",
          message: "Server pg-two is not protected (state: UnknownPolicyTag).",
          fix: "Use a backup tag value listed in PGFLEX_POLICY_MAP.",
        },
      },
    });
  });

  it("refuses a wrong content type and a body over 64 KiB", async () => {
    const token = await keySet.mint({ roles: ["Backup.Operator"] });
    expect(
      await call(`servers/${SUB}/rg-db/pg-one/backups`, {
        method: "POST",
        token,
        body: "<x/>",
        contentType: "application/xml",
      }),
    ).toMatchObject({
      status: 415,
      body: { error: { code: "UnsupportedMediaType" } },
    });
    expect(
      await call(`servers/${SUB}/rg-db/pg-one/backups`, {
        method: "POST",
        token,
        body: JSON.stringify({ reason: "x".repeat(70_000) }),
      }),
    ).toMatchObject({
      status: 413,
      body: { error: { code: "PayloadTooLarge" } },
    });
  });
});
