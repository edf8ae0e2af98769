import { describe, expect, it } from "vitest";
import { useAzurite } from "../support/azurite.js";
import { createAuthorizer } from "../../src/lib/auth/authorize.js";
import { createTokenValidator } from "../../src/lib/auth/tokens.js";
import { createRestoreApi } from "../../src/lib/restore/api.js";
import { aRequest } from "../fixtures/jobs/requests.js";
import { AUDIENCE, TENANT, aKeySet } from "../fixtures/jobs/tokens.js";
import { ACCOUNT_ID, CONTAINER_ID, SUB, aRestoreWorld } from "./world.js";

const azurite = useAzurite();

const params = { subscriptionId: SUB, resourceGroup: "rg-db", serverName: "pg-one" };
const serverUrl = `http://localhost:7071/api/servers/${SUB}/rg-db/pg-one`;

async function anApi() {
  const world = await aRestoreWorld(azurite.connectionString);
  const keySet = await aKeySet();
  const authorize = createAuthorizer(
    createTokenValidator({ tenantId: TENANT, audience: AUDIENCE, keys: keySet.keys }),
  );
  const api = createRestoreApi(
    { restore: world.service, restores: world.restores, scopes: [SUB] },
    { authorize },
  );
  const token = (role: string) => keySet.mint({ roles: [role] });
  const post = async (role: string, body: unknown) =>
    api.startRestore(
      aRequest({
        method: "POST",
        url: `${serverUrl}/restores`,
        params,
        token: await token(role),
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", "x-request-id": "req-7" },
      }),
    );
  return { world, api, token, post };
}

describe("POST /api/servers/{subscriptionId}/{resourceGroup}/{serverName}/restores", () => {
  it("starts a restore for Backup.Restore and answers 202 with the restore id, the job id and a Location", async () => {
    const t = await anApi();
    const res = await t.post("Backup.Restore", { targetContainerId: CONTAINER_ID });
    expect(res.status).toBe(202);
    const body = res.jsonBody as { restoreId: string; jobId: string; status: string; statusUrl: string };
    expect(body).toMatchObject({
      status: "InProgress",
      jobId: "00000000-0000-0000-0000-000000000001",
      recoveryPointId: "ccc333",
      statusUrl: `http://localhost:7071/api/restores/${body.restoreId}`,
    });
    expect(res.headers?.["location"]).toBe(body.statusUrl);
    expect(res.headers?.["x-request-id"]).toBe("req-7");
  });

  it.each([["Backup.Reader"], ["Backup.Operator"]])("starts nothing for %s alone", async (role) => {
    const t = await anApi();
    const res = await t.post(role, { targetContainerId: CONTAINER_ID });
    expect(res).toMatchObject({ status: 403, jsonBody: { error: { code: "MissingRole" } } });
    expect(t.world.azure.state.validations).toEqual([]);
  });

  it.each([
    [
      { targetContainerId: CONTAINER_ID, recoveryPointId: "ccc333", pointInTime: "2026-11-10T00:00:00Z" },
      "pointInTime",
    ],
    [{ recoveryPointId: "ccc333" }, "targetContainerId"],
    [{ targetContainerId: CONTAINER_ID, pointInTime: "last tuesday" }, "pointInTime"],
  ])("refuses a bad body naming the field: %j", async (body, field) => {
    const t = await anApi();
    const res = await t.post("Backup.Restore", body);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.jsonBody)).toContain(field);
    expect(t.world.azure.state.validations).toEqual([]);
  });

  it("answers a check's refusal in the API's error shape with the fix", async () => {
    const t = await anApi();
    const res = await t.post("Backup.Restore", { targetContainerId: ACCOUNT_ID });
    expect(res).toMatchObject({
      status: 400,
      jsonBody: {
        error: {
          code: "TargetIsAccount",
          target: "targetContainerId",
          fix: `Give the container's id: ${ACCOUNT_ID}/blobServices/default/containers/<container>.`,
        },
      },
    });
  });
});

describe("GET recovery points and restores (readers)", () => {
  it("pages the recovery points with a nextLink, and shows a restore and the list to a reader", async () => {
    const t = await anApi();
    const reader = await t.token("Backup.Reader");
    const first = await t.api.listRecoveryPoints(
      aRequest({ url: `${serverUrl}/recoveryPoints?top=2`, params, token: reader }),
    );
    const page = first.jsonBody as { value: Array<{ recoveryPointId: string }>; nextLink: string };
    expect(page.value.map((p) => p.recoveryPointId)).toEqual(["ccc333", "bbb222"]);
    const second = await t.api.listRecoveryPoints(aRequest({ url: page.nextLink, params, token: reader }));
    expect(second.jsonBody).toEqual({
      value: [
        {
          recoveryPointId: "aaa111",
          time: "2026-11-01T02:00:00Z",
          retentionTag: "Weekly",
          policyName: "pgflex-weekly",
          state: "Completed",
        },
      ],
    });

    const started = (await t.post("Backup.Restore", { targetContainerId: CONTAINER_ID })).jsonBody as {
      restoreId: string;
    };
    const one = await t.api.getRestore(
      aRequest({
        url: `http://localhost:7071/api/restores/${started.restoreId}`,
        params: { restoreId: started.restoreId },
        token: reader,
      }),
    );
    expect(one).toMatchObject({
      status: 200,
      jsonBody: { restoreId: started.restoreId, status: "InProgress" },
    });
    const all = await t.api.listRestores(
      aRequest({ url: "http://localhost:7071/api/restores", token: reader }),
    );
    expect((all.jsonBody as { value: unknown[] }).value).toHaveLength(1);
    const bad = await t.api.getRestore(
      aRequest({ url: "http://localhost:7071/api/restores/x", params: { restoreId: "x" }, token: reader }),
    );
    expect(bad).toMatchObject({ status: 400, jsonBody: { error: { code: "InvalidRestoreId" } } });
  });
});
