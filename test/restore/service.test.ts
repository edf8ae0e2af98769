import { describe, expect, it } from "vitest";
import { useAzurite } from "../support/azurite.js";
import { ApiError } from "../../src/lib/http/errors.js";
import { ACCOUNT_ID, BLOB_ENDPOINT, CONTAINER_ID, PRINCIPAL, aRestoreWorld, aServer, ref } from "./world.js";

const azurite = useAzurite();

/** The ApiError `promise` rejects with (fails the test when it resolves). */
async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ApiError);
  return e as ApiError;
}

describe("restore: picking the recovery point and starting", () => {
  it("restores the latest recovery point to an allow-listed container: validate, then restore, then InProgress", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const restore = await w.service.start(ref, { targetContainerId: CONTAINER_ID, requestedBy: "u1" });

    const target = {
      recoveryPointId: "ccc333",
      containerId: CONTAINER_ID,
      containerUrl: `${BLOB_ENDPOINT}restores`,
      location: "westeurope",
    };
    expect(w.azure.state.validations).toEqual([target]);
    expect(w.azure.state.restores).toEqual([target]);
    expect(restore).toMatchObject({
      status: "InProgress",
      recoveryPointId: "ccc333",
      recoveryPointTime: "2026-11-15T02:00:00Z",
      jobId: "00000000-0000-0000-0000-000000000001",
      targetContainerId: CONTAINER_ID,
      requestedBy: "u1",
    });
    expect(await w.restores.get(restore.restoreId)).toMatchObject({ status: "InProgress" });
  });

  it("takes the newest recovery point at or before a time, and a named point by id", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const atTime = await w.service.start(ref, {
      targetContainerId: CONTAINER_ID,
      pointInTime: new Date("2026-11-14T00:00:00Z"),
    });
    expect(atTime.recoveryPointId).toBe("bbb222");
    const byId = await w.service.start(ref, { targetContainerId: CONTAINER_ID, recoveryPointId: "aaa111" });
    expect(byId.recoveryPointId).toBe("aaa111");
  });

  it("lists recovery points newest first, a page at a time with the API's tokens", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const first = await w.service.listRecoveryPoints(ref, { top: 2 });
    expect(first.items.map((p) => p.id)).toEqual(["ccc333", "bbb222"]);
    const second = await w.service.listRecoveryPoints(ref, {
      top: 2,
      ...(first.continuationToken ? { continuationToken: first.continuationToken } : {}),
    });
    expect(second).toEqual({ items: [expect.objectContaining({ id: "aaa111", retentionTag: "Weekly" })] });
  });
});

describe("restore: bad input is refused with the fix, and no job starts", () => {
  it("an unknown recovery point", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const e = await refusal(
      w.service.start(ref, { targetContainerId: CONTAINER_ID, recoveryPointId: "nope" }),
    );
    expect(e.status).toBe(404);
    expect(e.code).toBe("RecoveryPointNotFound");
    expect(e.details.fix).toContain("recovery-points pg-one");
    expect(w.azure.state.validations).toEqual([]);
    expect(w.azure.state.restores).toEqual([]);
  });

  it("a point in time before the first recovery point, naming the first", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const e = await refusal(
      w.service.start(ref, {
        targetContainerId: CONTAINER_ID,
        pointInTime: new Date("2026-10-01T00:00:00Z"),
      }),
    );
    expect(e.code).toBe("NoRecoveryPointBefore");
    expect(e.details.fix).toBe(
      "Give a time at or after 2026-11-01T02:00:00Z, or omit it for the latest point.",
    );
    expect(w.azure.state.restores).toEqual([]);
  });

  it("a container outside PGFLEX_RESTORE_TARGETS", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const other = `${ACCOUNT_ID}/blobServices/default/containers/elsewhere`;
    const e = await refusal(w.service.start(ref, { targetContainerId: other }));
    expect(e.status).toBe(403);
    expect(e.code).toBe("TargetNotAllowed");
    expect(e.details.fix).toBe(
      `Restore to one of PGFLEX_RESTORE_TARGETS (${CONTAINER_ID}), or add ${other} to it.`,
    );
    expect(w.azure.state.validations).toEqual([]);
  });

  it("an account id where a container id belongs, with the container id's shape", async () => {
    const w = await aRestoreWorld(azurite.connectionString, { allowedTargets: [ACCOUNT_ID] });
    const e = await refusal(w.service.start(ref, { targetContainerId: ACCOUNT_ID }));
    expect(e.status).toBe(400);
    expect(e.code).toBe("TargetIsAccount");
    expect(e.details.fix).toBe(
      `Give the container's id: ${ACCOUNT_ID}/blobServices/default/containers/<container>.`,
    );
    expect(w.azure.state.validations).toEqual([]);
  });

  it("an account that disallows cross-tenant replication, with the exact az storage account update", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    w.azure.state.account = { ...w.azure.state.account!, allowCrossTenantReplication: false };
    const e = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    expect(e.code).toBe("TargetAccountSettings");
    expect(e.message).toContain("allowCrossTenantReplication is not true");
    expect(e.details.fix).toBe(
      "Run: az storage account update --name strestore --resource-group rg-restore --subscription 11111111-1111-1111-1111-111111111111 --allow-cross-tenant-replication true --public-network-access Enabled, then retry.",
    );
    expect(w.azure.state.validations).toEqual([]);
  });

  it("an account with public network access disabled", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    w.azure.state.account = { ...w.azure.state.account!, publicNetworkAccess: "Disabled" };
    const e = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    expect(e.message).toContain("publicNetworkAccess is Disabled");
    expect(w.azure.state.restores).toEqual([]);
  });

  it("the vault identity's missing role, with the exact az role assignment create when auto-grant is off", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    w.azure.state.assignments = [];
    const e = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    expect(e.code).toBe("VaultRoleMissing");
    expect(e.details.fix).toBe(
      `Run: az role assignment create --assignee-object-id ${PRINCIPAL} --assignee-principal-type ServicePrincipal --role "Storage Blob Data Contributor" --scope ${CONTAINER_ID} (or set PGFLEX_AUTO_GRANT_ROLES=true), then retry.`,
    );
    expect(w.azure.state.grants).toEqual([]);
    expect(w.azure.state.validations).toEqual([]);
  });

  it("a server that is not protected", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    await w.servers.create(
      aServer("pg-new", { state: "Pending", vaultId: undefined, instanceName: undefined }),
    );
    const e = await refusal(
      w.service.start({ ...ref, serverName: "pg-new" }, { targetContainerId: CONTAINER_ID }),
    );
    expect(e.code).toBe("NotProtected");
    expect(w.azure.state.validations).toEqual([]);
  });

  it("a second request for the same server and point while the first runs: one job, the second learns its id", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    let open!: () => void;
    w.azure.state.restoreGate = new Promise<void>((resolve) => (open = resolve));
    const first = w.service.start(ref, { targetContainerId: CONTAINER_ID });
    // The second arrives while the first is still waiting for Azure to accept its restore.
    while (w.azure.state.validations.length === 0) await new Promise((r) => setImmediate(r));
    const second = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    open();
    const started = await first;
    expect(second.status).toBe(409);
    expect(second.code).toBe("RestoreAlreadyRunning");
    expect(second.details.target).toBe(started.restoreId);
    expect(w.azure.state.restores).toHaveLength(1);

    // Once it runs, a later request names its job too.
    const third = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    expect(third.message).toContain(`job ${started.jobId}`);
    expect(w.azure.state.restores).toHaveLength(1);
  });
});

describe("restore: auto-grant and Azure's own refusals", () => {
  it("grants the role on the container when auto-grant is on, then restores", async () => {
    const w = await aRestoreWorld(azurite.connectionString, { autoGrantRoles: true });
    w.azure.state.assignments = [];
    await w.service.start(ref, { targetContainerId: CONTAINER_ID });
    expect(w.azure.state.grants).toEqual([
      { scope: CONTAINER_ID, role: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", principalId: PRINCIPAL },
    ]);
    expect(w.azure.state.restores).toHaveLength(1);
  });

  it("a validation refusal starts no job, is recorded Failed and frees the point for a retry", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    w.azure.state.validateError = Object.assign(new Error("The container is not accessible."), {
      name: "RestError",
      statusCode: 400,
      code: "UserErrorContainerNotAccessible",
    });
    const e = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    expect(e.code).toBe("AzureRejectedRestore");
    expect(e.details.fix).toContain(`az role assignment create --assignee-object-id ${PRINCIPAL}`);
    expect(w.azure.state.restores).toEqual([]);
    const page = await w.restores.listPage();
    expect(page.items.map((r) => [r.status, r.errorCode])).toEqual([["Failed", "AzureRejectedRestore"]]);

    w.azure.state.validateError = undefined;
    await expect(w.service.start(ref, { targetContainerId: CONTAINER_ID })).resolves.toMatchObject({
      status: "InProgress",
    });
  });
});

describe("restore: an unconfirmed start", () => {
  it("holds the server and point when Azure did not confirm the restore, so a retry cannot start a second job", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const original = w.azure.operations.startRestore;
    w.azure.operations.startRestore = async () => {
      throw Object.assign(new Error("socket hang up"), { name: "RestError", statusCode: 503 });
    };
    const first = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    expect(first.status).toBe(503);
    expect(first.code).toBe("RestoreStartUnconfirmed");
    expect(first.details.fix).toContain(`GET /api/restores/${first.details.target}`);

    w.azure.operations.startRestore = original;
    const retry = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    expect(retry.code).toBe("RestoreAlreadyRunning");
    expect(w.azure.state.restores).toEqual([]);

    // After the hold, the unconfirmed start is given up and a retry starts the restore.
    w.advance(15 * 60_000);
    await expect(w.service.start(ref, { targetContainerId: CONTAINER_ID })).resolves.toMatchObject({
      status: "InProgress",
    });
    const page = await w.restores.listPage();
    expect(page.items.map((r) => [r.status, r.errorCode ?? ""])).toEqual([
      ["InProgress", ""],
      ["Failed", "RestoreStartAbandoned"],
    ]);
  });
});

describe("restore: the tracker settles an unconfirmed start", () => {
  it("adopts the job Azure started when only its answer was lost: one job, followed to its end", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const original = w.azure.operations.startRestore;
    w.azure.operations.startRestore = async (instance, target) => {
      await original(instance, target);
      throw Object.assign(new Error("socket hang up"), { name: "RestError", statusCode: 503 });
    };
    const e = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    expect(e.code).toBe("RestoreStartUnconfirmed");

    const restoreId = String(e.details.target);
    await expect(w.service.get(restoreId)).resolves.toMatchObject({
      status: "InProgress",
      jobId: "00000000-0000-0000-0000-000000000001",
    });
    expect((await w.restores.get(restoreId))?.errorCode).toBeUndefined();
    expect(w.azure.state.restores).toHaveLength(1);
  });

  it("sends the restore again when the vault lists no job after the wait, then follows it", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const original = w.azure.operations.startRestore;
    w.azure.operations.startRestore = async () => {
      throw Object.assign(new Error("socket hang up"), { name: "RestError", statusCode: 503 });
    };
    const e = await refusal(w.service.start(ref, { targetContainerId: CONTAINER_ID }));
    const restoreId = String(e.details.target);
    w.azure.operations.startRestore = original;

    // Within the wait the job may still appear: nothing is sent.
    await expect(w.service.trackActive()).resolves.toBe(0);
    expect(w.azure.state.restores).toEqual([]);
    expect(await w.restores.get(restoreId)).toMatchObject({ status: "Starting" });

    w.advance(2 * 60_000);
    await w.service.trackActive();
    expect(w.azure.state.restores).toHaveLength(1);
    expect(await w.restores.get(restoreId)).toMatchObject({
      status: "InProgress",
      jobId: "00000000-0000-0000-0000-000000000001",
    });
  });
});

describe("restore: following the job to the files and the commands", () => {
  it("on completion records this restore's files by pattern and the rebuild commands, and frees the point", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const started = await w.service.start(ref, { targetContainerId: CONTAINER_ID });
    const guid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    const old = "11111111-2222-3333-4444-555555555555";
    w.azure.state.blobs = [
      { name: `${old}_database_orders.sql`, sizeInBytes: 10, createdOn: "2026-10-01T00:00:00.000Z" },
      { name: "notes.txt", sizeInBytes: 3, createdOn: "2026-11-20T10:01:00.000Z" },
      { name: `${guid}_database_orders.sql`, sizeInBytes: 2048, createdOn: "2026-11-20T10:02:00.000Z" },
      { name: `${guid}_database_postgres.sql`, sizeInBytes: 300, createdOn: "2026-11-20T10:02:00.000Z" },
      { name: `${guid}_roles.sql`, sizeInBytes: 400, createdOn: "2026-11-20T10:02:00.000Z" },
      { name: `${guid}_schema.sql`, sizeInBytes: 500, createdOn: "2026-11-20T10:02:00.000Z" },
      { name: `${guid}_tablespaces.sql`, sizeInBytes: 20, createdOn: "2026-11-20T10:02:00.000Z" },
    ];
    expect(await w.service.trackActive()).toBe(0); // still running
    w.azure.state.jobs.set(started.jobId!, {
      status: "Completed",
      startTime: "2026-11-20T10:00:00.000Z",
      endTime: "2026-11-20T10:02:10.000Z",
    });
    expect(await w.service.trackActive()).toBe(1);

    const done = await w.service.get(started.restoreId);
    expect(done?.status).toBe("Completed");
    expect(done?.endTime).toBe("2026-11-20T10:02:10.000Z");
    expect(done?.files).toEqual([
      { name: `${guid}_database_orders.sql`, sizeInBytes: 2048, kind: "database", database: "orders" },
      { name: `${guid}_database_postgres.sql`, sizeInBytes: 300, kind: "database", database: "postgres" },
      { name: `${guid}_roles.sql`, sizeInBytes: 400, kind: "roles" },
      { name: `${guid}_schema.sql`, sizeInBytes: 500, kind: "schema" },
      { name: `${guid}_tablespaces.sql`, sizeInBytes: 20, kind: "tablespaces" },
    ]);
    const download = (blob: string) =>
      `az storage blob download --auth-mode login --account-name strestore --container-name restores --name "${blob}" --file /dev/stdout --no-progress --output none`;
    expect(done?.commands?.slice(1)).toEqual([
      "export PGHOST=<new-server>.postgres.database.azure.com PGUSER=<admin-user> PGSSLMODE=require",
      `${download(`${guid}_roles.sql`)} | grep -Evw 'azure_superuser|azure_pg_admin|azuresu|replication|localadmin' | sed -E 's/ NOSUPERUSER| NOBYPASSRLS| NOREPLICATION//g' | psql --dbname postgres`,
      `psql --dbname postgres --command 'CREATE DATABASE "orders"'`,
      `${download(`${guid}_database_orders.sql`)} | pg_restore --no-owner --no-privileges --dbname 'orders'`,
    ]);

    // The point is free again: a new restore of it starts a new job.
    const again = await w.service.start(ref, { targetContainerId: CONTAINER_ID });
    expect(again.restoreId).not.toBe(started.restoreId);
    expect(w.azure.state.restores).toHaveLength(2);
  });

  it("a failed job is recorded Failed with Azure's error", async () => {
    const w = await aRestoreWorld(azurite.connectionString);
    const started = await w.service.start(ref, { targetContainerId: CONTAINER_ID });
    w.azure.state.jobs.set(started.jobId!, {
      status: "Failed",
      endTime: "2026-11-20T10:03:00.000Z",
      errorDetails: [{ code: "UserErrorContainerNotAccessible", message: "Access denied." }],
    });
    expect(await w.service.get(started.restoreId)).toMatchObject({
      status: "Failed",
      errorCode: "UserErrorContainerNotAccessible",
      errorMessage: "Access denied.",
    });
  });
});

describe("restore: a read racing the tracker", () => {
  it("answers the row the tracker just wrote when both bring an ended restore up to date, without a warning", async () => {
    const warnings: string[] = [];
    const w = await aRestoreWorld(azurite.connectionString, {
      logger: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
    });
    const started = await w.service.start(ref, { targetContainerId: CONTAINER_ID });
    w.azure.state.jobs.set(started.jobId!, {
      status: "Completed",
      startTime: "2026-11-20T10:00:00.000Z",
      endTime: "2026-11-20T10:02:10.000Z",
    });
    // The tracker (another timer, another instance) records the end between this read and its write.
    const update = w.restores.update.bind(w.restores);
    let raced = false;
    w.restores.update = async (record, at, options) => {
      if (!raced) {
        raced = true;
        await w.service.trackActive();
      }
      return update(record, at, options);
    };
    const answer = await w.service.get(started.restoreId);
    expect(raced).toBe(true);
    expect(answer).toMatchObject({ status: "Completed", endTime: "2026-11-20T10:02:10.000Z" });
    expect(warnings).toEqual([]);
  });
});
