import { describe, expect, it } from "vitest";
import { createAuthorizer } from "../../src/lib/auth/authorize.js";
import { createTokenValidator } from "../../src/lib/auth/tokens.js";
import { createSweepsApi } from "../../src/lib/compliance/api.js";
import { createSweeper, type SweepScopeMessage } from "../../src/lib/compliance/sweeper.js";
import { createInMemorySweepStore } from "../../src/lib/store/sweeps.js";
import { aRequest } from "../fixtures/jobs/requests.js";
import { AUDIENCE, TENANT, aKeySet } from "../fixtures/jobs/tokens.js";
import { NOW, aServer, aSweepConfig } from "../fixtures/compliance/estate.js";
import { createFakeInventory, defaultVaults } from "../fixtures/compliance/fakes.js";

async function anApi() {
  const keySet = await aKeySet();
  const queue: SweepScopeMessage[] = [];
  const sweeper = createSweeper({
    inventory: createFakeInventory({ servers: [aServer()], vaults: defaultVaults(), instances: [] }),
    store: createInMemorySweepStore(),
    config: aSweepConfig(),
    enqueueProtection: async () => {},
    scopeQueue: { send: async (m) => void queue.push(m) },
    now: () => NOW,
    newId: () => "abcd1234",
  });
  const authorize = createAuthorizer(
    createTokenValidator({ tenantId: TENANT, audience: AUDIENCE, keys: keySet.keys }),
  );
  return {
    api: createSweepsApi({ sweeper }, { authorize }),
    sweeper,
    queue,
    reader: () => keySet.mint({ roles: ["Backup.Reader"] }),
    operator: () => keySet.mint({ roles: ["Backup.Operator"] }),
  };
}

const SWEEPS = "http://localhost:7071/api/sweeps";
const ID = "20261125T120000000Z-abcd1234";

describe("/api/sweeps", () => {
  it("starts a sweep for an operator: 202, Location, and its unit on the sweep-scopes queue", async () => {
    const t = await anApi();
    const res = await t.api.start(
      aRequest({
        method: "POST",
        url: SWEEPS,
        token: await t.operator(),
        body: '{"dryRun":true}',
        headers: { "content-type": "application/json", "x-request-id": "req-1" },
      }),
    );
    expect(res.status).toBe(202);
    expect(res.headers).toMatchObject({ location: `/api/sweeps/${ID}`, "x-request-id": "req-1" });
    expect(res.jsonBody).toMatchObject({
      id: ID,
      status: "Running",
      dryRun: true,
      cause: "api:44444444-4444-4444-4444-444444444444",
      location: `/api/sweeps/${ID}`,
    });
    expect(res.jsonBody).not.toHaveProperty("etag");
    expect(t.queue).toEqual([{ sweepId: ID, unit: "all" }]);
  });

  it("accepts an empty body and refuses unknown fields naming them", async () => {
    const t = await anApi();
    expect(
      (await t.api.start(aRequest({ method: "POST", url: SWEEPS, token: await t.operator() }))).status,
    ).toBe(202);
    const bad = await t.api.start(
      aRequest({
        method: "POST",
        url: SWEEPS,
        token: await t.operator(),
        body: '{"dryrun":true}',
        headers: { "content-type": "application/json" },
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.jsonBody).toEqual({
      error: { code: "UnknownField", message: "Unknown field(s) in the body: dryrun.", target: "dryrun" },
    });
  });

  it("refuses a reader starting a sweep and anyone without a token", async () => {
    const t = await anApi();
    expect(
      (await t.api.start(aRequest({ method: "POST", url: SWEEPS, token: await t.reader() }))).status,
    ).toBe(403);
    expect((await t.api.start(aRequest({ method: "POST", url: SWEEPS }))).status).toBe(401);
    expect((await t.api.get(aRequest({ url: `${SWEEPS}/latest`, params: { id: "latest" } }))).status).toBe(
      401,
    );
    expect(t.queue).toEqual([]);
  });

  it("returns a sweep by id and the latest one, with counts and diff once processed", async () => {
    const t = await anApi();
    expect(
      (
        await t.api.get(
          aRequest({ url: `${SWEEPS}/latest`, params: { id: "latest" }, token: await t.reader() }),
        )
      ).jsonBody,
    ).toEqual({
      error: { code: "NotFound", message: "No sweep has run yet.", fix: "Start one: POST /api/sweeps." },
    });
    await t.sweeper.startSweep();
    await t.sweeper.processScope(t.queue[0]!);
    const byId = await t.api.get(
      aRequest({ url: `${SWEEPS}/${ID}`, params: { id: ID }, token: await t.reader() }),
    );
    expect(byId.status).toBe(200);
    expect(byId.jsonBody).toMatchObject({
      id: ID,
      status: "Complete",
      total: 1,
      counts: { TaggedUnprotected: 1 },
      compliancePercent: 0,
    });
    const latest = await t.api.get(
      aRequest({ url: `${SWEEPS}/latest`, params: { id: "latest" }, token: await t.reader() }),
    );
    expect(latest.jsonBody).toEqual(byId.jsonBody);
  });

  it("pages a sweep's rows, filtered by class", async () => {
    const t = await anApi();
    await t.sweeper.startSweep();
    await t.sweeper.processScope(t.queue[0]!);
    const token = await t.reader();
    const all = await t.api.listRows(
      aRequest({ url: `${SWEEPS}/${ID}/rows?top=1`, params: { id: ID }, token }),
    );
    expect(all.status).toBe(200);
    expect(all.jsonBody).toEqual({
      value: [
        expect.objectContaining({
          serverId: aServer().id,
          class: "TaggedUnprotected",
          reason: "pg-one asks for policy pgflex-weekly (backup=weekly) but has no backup instance.",
          remediation: "enqueued",
        }),
      ],
    });
    const none = await t.api.listRows(
      aRequest({ url: `${SWEEPS}/${ID}/rows?class=protected`, params: { id: ID }, token }),
    );
    expect(none.jsonBody).toEqual({ value: [] });
    const bad = await t.api.listRows(
      aRequest({ url: `${SWEEPS}/${ID}/rows?class=Fine`, params: { id: ID }, token }),
    );
    expect(bad.jsonBody).toEqual({
      error: {
        code: "InvalidQueryParameter",
        message:
          'Query parameter "class": must be one of Protected, ProtectedStale, TaggedUnprotected, ProtectionFailed, WrongPolicy, ProtectedUntagged, OptedOut, ProtectedElsewhere, Deleted, Untagged, Unclassified, Unsupported.',
        target: "class",
      },
    });
  });

  it("answers 400 for a malformed id and 404 for an unknown one", async () => {
    const t = await anApi();
    const bad = await t.api.get(
      aRequest({ url: `${SWEEPS}/x`, params: { id: "x" }, token: await t.reader() }),
    );
    expect(bad.status).toBe(400);
    expect(bad.jsonBody).toEqual({
      error: {
        code: "InvalidSweepId",
        message: '"x" is not a sweep id (e.g. 20261125T030000000Z-1a2b3c4d).',
        target: "id",
      },
    });
    const missing = await t.api.get(
      aRequest({
        url: `${SWEEPS}/20200101T000000Z-none`,
        params: { id: "20200101T000000Z-none" },
        token: await t.reader(),
      }),
    );
    expect(missing.status).toBe(404);
  });
});
