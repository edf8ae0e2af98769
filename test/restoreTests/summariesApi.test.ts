import { describe, expect, it } from "vitest";
import { createAuthorizer } from "../../src/lib/auth/authorize.js";
import { createTokenValidator } from "../../src/lib/auth/tokens.js";
import { createRestoreTestSummariesApi } from "../../src/lib/restoreTests/summariesApi.js";
import { declarations } from "../../src/functions/registry.js";
import "../../src/functions/apiRestoreTestSummaries.js";
import { aRequest } from "../fixtures/jobs/requests.js";
import { AUDIENCE, TENANT, aKeySet } from "../fixtures/jobs/tokens.js";
import { OTHER_SUB, SUB, aFakeReader, aSummary, serverIdOf } from "./fakeReader.js";

const URL_BASE = "http://localhost:7071/api/restoreTestSummaries";

/** orders-db's last test: suspicious, with its time to restore and the reason. */
const ordersLast = {
  testId: "t3",
  outcome: "Suspicious",
  startedAt: "2026-11-20T02:00:00Z",
  endedAt: "2026-11-20T02:40:00Z",
  timeToRestoreInSeconds: 2400,
  reason: "Table public.orders lost 90% of its rows.",
} as const;

const summaries = [
  aSummary("orders-db", {
    last: ordersLast,
    lastPassedAt: "2026-11-13T02:40:00Z",
  }),
  aSummary("billing-db", {
    last: { testId: "t2", outcome: "Passed", startedAt: "2026-11-19T02:00:00Z", timeToRestoreInSeconds: 900 },
    lastPassedAt: "2026-11-19T02:15:00Z",
  }),
  aSummary("crm-db"),
  aSummary("hr-db", { sub: OTHER_SUB, lastPassedAt: "2026-11-19T02:15:00Z" }),
];

async function anApi(reader: Parameters<typeof createRestoreTestSummariesApi>[0]["reader"]) {
  const keySet = await aKeySet();
  const authorize = createAuthorizer(
    createTokenValidator({ tenantId: TENANT, audience: AUDIENCE, keys: keySet.keys }),
  );
  const api = createRestoreTestSummariesApi({ reader, scopes: [SUB] }, { authorize });
  const readerToken = await keySet.mint({ roles: ["Backup.Reader"] });
  /** `token: null` sends no Authorization header. */
  const get = async (query = "", token: string | null = readerToken) =>
    api.listSummaries(aRequest({ url: `${URL_BASE}${query}`, ...(token ? { token } : {}) }));
  return { api, get, mint: (roles: string[]) => keySet.mint({ roles }) };
}

type Page = {
  value: Array<{ serverName: string; last?: Record<string, unknown>; lastPassedAt?: string }>;
  continuationToken?: string;
  nextLink?: string;
};

describe("GET /api/restoreTestSummaries", () => {
  it("shows a reader each in-scope server's last test (outcome, time to restore, reason) and when it last passed", async () => {
    const t = await anApi(aFakeReader(summaries));
    const res = await t.get();
    expect(res.status).toBe(200);
    const page = res.jsonBody as Page;
    expect(page.value.map((s) => s.serverName).sort()).toEqual(["billing-db", "crm-db", "orders-db"]);
    expect(page.value.find((s) => s.serverName === "orders-db")).toEqual({
      serverId: serverIdOf("orders-db"),
      serverName: "orders-db",
      last: ordersLast,
      lastPassedAt: "2026-11-13T02:40:00Z",
    });
    expect(page.nextLink).toBeUndefined();
  });

  it("refuses a caller without a token (401) and one with no role (403) before reading anything", async () => {
    const reader = aFakeReader(summaries);
    const t = await anApi(reader);
    expect(await t.get("", null)).toMatchObject({ status: 401 });
    expect(await t.get("", await t.mint([]))).toMatchObject({
      status: 403,
      jsonBody: { error: { code: "MissingRole" } },
    });
    expect(reader.reads).toBe(0);
  });

  it("pages with top and a nextLink that drops the function key, every server once", async () => {
    const t = await anApi(aFakeReader(summaries));
    const first = await t.get("?top=2&code=secret");
    const page1 = first.jsonBody as Page;
    expect(page1.value).toHaveLength(2);
    expect(page1.nextLink).toBeDefined();
    expect(page1.nextLink).not.toContain("secret");
    const next = new URL(page1.nextLink ?? "");
    const second = await t.get(next.search);
    const page2 = second.jsonBody as Page;
    expect(page2.value).toHaveLength(1);
    expect(page2.nextLink).toBeUndefined();
    expect([...page1.value, ...page2.value].map((s) => s.serverName).sort()).toEqual([
      "billing-db",
      "crm-db",
      "orders-db",
    ]);
  });

  it("filters one server by its resource id", async () => {
    const t = await anApi(aFakeReader(summaries));
    const res = await t.get(`?server=${encodeURIComponent(serverIdOf("crm-db"))}`);
    expect((res.jsonBody as Page).value).toEqual([{ serverId: serverIdOf("crm-db"), serverName: "crm-db" }]);
  });

  it.each([
    ["?top=0", "InvalidQueryParameter", "top"],
    ["?top=abc", "InvalidQueryParameter", "top"],
    ["?server=orders-db", "InvalidQueryParameter", "server"],
    ["?serverId=x", "UnknownQueryParameter", "serverId"],
    ["?continuationToken=not-ours", "InvalidContinuationToken", undefined],
  ])("refuses %s with 400 %s naming the parameter", async (query, code, target) => {
    const t = await anApi(aFakeReader(summaries));
    const res = await t.get(query);
    expect(res.status).toBe(400);
    expect(res.jsonBody).toMatchObject({ error: { code, ...(target ? { target } : {}) } });
  });

  it("refuses a token another list returned", async () => {
    const t = await anApi(aFakeReader(summaries));
    const foreign = Buffer.from(JSON.stringify({ pk: "sweep-1", rk: "abc" })).toString("base64url");
    const res = await t.get(`?continuationToken=${foreign}`);
    expect(res).toMatchObject({ status: 400, jsonBody: { error: { code: "InvalidContinuationToken" } } });
  });

  it("answers an empty list when the deployment records no restore tests", async () => {
    const t = await anApi(undefined);
    expect(await t.get("?top=5")).toMatchObject({ status: 200, jsonBody: { value: [] } });
    expect(await t.get("?top=0")).toMatchObject({ status: 400 });
  });

  it("is declared as GET /api/restoreTestSummaries", () => {
    expect(declarations().find((d) => d.name === "apiRestoreTestSummaries")).toMatchObject({
      kind: "http",
      options: { methods: ["GET"], route: "restoreTestSummaries" },
    });
  });
});
