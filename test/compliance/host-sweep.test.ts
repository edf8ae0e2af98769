/**
 * Sweeps through the local Functions host: POST /api/sweeps records the sweep and enqueues its unit on
 * `sweep-scopes`; the queue-triggered `sweepScope` runs it against the ARM emulator and completes it;
 * GET /api/sweeps/{id} and /latest report it; the timer starts one the same way.
 */
import { describe, expect, it } from "vitest";
import { useAzurite } from "../support/azurite.js";
import { useEmulator } from "../support/emulator.js";
import { useJwksServer } from "../support/jwks.js";
import { useLocalHost, waitFor } from "../support/localHost.js";
import { AUDIENCE, TENANT, aKeySet } from "../fixtures/jobs/tokens.js";
import { SUB, complianceEstate } from "../fixtures/compliance/emulatorEstate.js";

const keySet = await aKeySet();
const jwks = useJwksServer(keySet.jwks, "/discovery/v2.0/keys");
const emulator = useEmulator(() => ({ seed: complianceEstate(Date.now()) }));

const azurite = useAzurite();
const host = useLocalHost(() => ({
  env: {
    AzureWebJobsStorage: azurite.connectionString,
    PGFLEX_SCOPES: SUB,
    PGFLEX_MODE: "report",
    PGFLEX_POLICY_MAP: "weekly=pgflex-weekly,gold=pgflex-gold",
    PGFLEX_AUTH_TENANT_ID: TENANT,
    PGFLEX_AUTH_AUDIENCE: AUDIENCE,
    PGFLEX_AUTH_JWKS_URI: jwks.url,
    PGFLEX_ARM_ENDPOINT: emulator.url,
    PGFLEX_ARM_CREDENTIAL: "emulator",
  },
}));

async function call(path: string, init: { method?: string; token?: string; body?: string } = {}) {
  const res = await fetch(new URL(`/api/${path}`, host.url), {
    method: init.method ?? "GET",
    headers: {
      "x-functions-key": host.functionKey,
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    location: res.headers.get("location"),
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown>,
  };
}

describe("sweeps through the local host", () => {
  it("runs a sweep started by POST /api/sweeps on the queue worker and reports it", async () => {
    const operator = await keySet.mint({ roles: ["Backup.Operator"] });
    const reader = await keySet.mint({ roles: ["Backup.Reader"] });
    const started = await call("sweeps", { method: "POST", token: operator, body: "{}" });
    expect(started.status).toBe(202);
    const id = String(started.body.id);
    expect(started.location).toBe(`/api/sweeps/${id}`);

    const done = await waitFor(async () => {
      const r = await call(`sweeps/${id}`, { token: reader });
      return r.body.status === "Running" ? undefined : r;
    }, "the sweep to finish");
    expect(done.body).toMatchObject({
      id,
      status: "Partial",
      mode: "report",
      dryRun: true,
      total: 11,
      counts: { Protected: 1, TaggedUnprotected: 1, WrongPolicy: 1, Deleted: 1, Unclassified: 1 },
      remediation: { enqueued: 0, wouldEnqueue: 2, failed: 0 },
    });
    expect((await call("sweeps/latest", { token: reader })).body.id).toBe(id);

    const first = await call(`sweeps/${id}/rows?top=6`, { token: reader });
    expect(first.body.value).toHaveLength(6);
    const rest = await call(
      `sweeps/${id}/rows?top=6&continuationToken=${encodeURIComponent(String(first.body.continuationToken))}`,
      {
        token: reader,
      },
    );
    expect(rest.body.value).toHaveLength(5);
    expect(rest.body.continuationToken).toBeUndefined();
    const wrong = await call(`sweeps/${id}/rows?class=WrongPolicy`, { token: reader });
    expect(wrong.body.value).toEqual([
      expect.objectContaining({
        class: "WrongPolicy",
        expectedPolicyName: "pgflex-gold",
        policyName: "pgflex-weekly",
        remediation: "wouldEnqueue",
      }),
    ]);
  });

  it("starts a sweep from the timer", async () => {
    const reader = await keySet.mint({ roles: ["Backup.Reader"] });
    const before = (await call("sweeps/latest", { token: reader })).body.id;
    await host.invoke("sweepTimer");
    const latest = await waitFor(async () => {
      const r = await call("sweeps/latest", { token: reader });
      return r.body.id !== before && r.body.status !== "Running" ? r : undefined;
    }, "the timer's sweep to finish");
    expect(latest.body).toMatchObject({ cause: "timer", previousSweepId: before, diff: { changed: 0 } });
  });
});
