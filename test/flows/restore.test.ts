/**
 * Restore as files end to end (issue #16): the local Functions host over the ARM emulator and Azurite, the
 * API called with signed development tokens. A server protected through Event Grid is backed up, its
 * recovery point restored to an allow-listed container, the Restore job followed to its end; the container
 * then holds one real pg_dump archive per database, and the restore names each file and the commands that
 * rebuild the server. Targets Azure would refuse are refused before any Restore job starts, with the fix.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BlobServiceClient } from "@azure/storage-blob";
import { beforeAll, describe, expect, it } from "vitest";
import { findPostgresBinaries } from "../../dev/emulator/pg/local.js";
import { useAzurite } from "../support/azurite.js";
import { armCall, useEmulator } from "../support/emulator.js";
import { useLocalHost, waitFor } from "../support/localHost.js";
import {
  accountId,
  containerId,
  estateSettings,
  hostApi,
  protectOrdersDb,
  restoreEstate,
  serverPath,
  SUB,
  TARGET,
  useDevTokens,
  VAULT,
} from "../support/restoreEstate.js";

/** Allow-listed, but the vault identity has no role on it. */
const NO_ROLE = containerId("pgflexrestores", "restores-norole");
/** Allow-listed, in an account that disallows cross-tenant replication. */
const LOCKED = containerId("pgflexlocked", "restores-locked");

const pgRestore = findPostgresBinaries()?.pgRestore;

const azurite = useAzurite();
const emulator = useEmulator(() => restoreEstate(azurite.connectionString));
const dev = useDevTokens();

const host = useLocalHost(() => ({
  env: {
    ...estateSettings(azurite.connectionString, emulator.url),
    PGFLEX_MODE: "enforce",
    PGFLEX_AUTO_GRANT_ROLES: "false",
    PGFLEX_RESTORE_TARGETS: [TARGET, NO_ROLE, accountId("pgflexlocked")].join(","),
    ...dev.auth.settings,
  },
  visibilityTimeoutInMs: 0,
  queuePollIntervalInMs: 100,
}));

function arm(method: string, path: string, body?: unknown): Promise<unknown> {
  return armCall(emulator, method, path, body);
}

/** The vault's Restore jobs, as ARM lists them. */
async function restoreJobs(): Promise<unknown[]> {
  const list = (await arm("GET", `${VAULT}/backupJobs`)) as {
    value: Array<{ properties: { operationCategory?: string } }>;
  };
  return list.value.filter((j) => j.properties.operationCategory === "Restore");
}

const api = hostApi(() => host);

const restoresContainer = () =>
  BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("restores");

describe("restore as files through the emulator", () => {
  let principalId = "";
  let restoreId = "";
  /** The restored database archives, read back from the container. */
  const archives: Array<{ name: string; bytes: Buffer }> = [];

  beforeAll(async () => {
    principalId = await protectOrdersDb(emulator, host, async () => {
      const s = await api("GET", serverPath, dev.tokens.reader);
      return s.body["state"] === "Protected";
    });
  }, 90_000);

  it("restores a completed backup's recovery point to the container: a pg_dump archive per database, with the commands", async () => {
    const backup = await api("POST", `${serverPath}/backups`, dev.tokens.operator, {
      reason: "restore flow",
    });
    expect(backup.status, JSON.stringify(backup.body)).toBe(202);
    const points = await waitFor(
      async () => {
        const page = await api("GET", `${serverPath}/recoveryPoints`, dev.tokens.reader);
        expect(page.status, JSON.stringify(page.body)).toBe(200);
        const value = page.body["value"] as Array<Record<string, unknown>>;
        return value.length ? value : undefined;
      },
      "the backup's recovery point",
      { timeoutInMs: 60_000, intervalInMs: 200 },
    );
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ retentionTag: expect.any(String), time: expect.any(String) });
    const recoveryPointId = String(points[0]?.["recoveryPointId"]);

    const started = await api("POST", `${serverPath}/restores`, dev.tokens.restorer, {
      targetContainerId: TARGET,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    restoreId = String(started.body["restoreId"]);
    expect(started.body).toMatchObject({ status: "InProgress", recoveryPointId, targetContainerId: TARGET });
    expect(started.body["jobId"]).toEqual(expect.any(String));
    expect(started.headers.get("location")).toBe(`${host.url}/api/restores/${restoreId}`);

    // The same server and point again: no second job, the caller is told the first restore's id.
    const again = await api("POST", `${serverPath}/restores`, dev.tokens.restorer, {
      targetContainerId: TARGET,
    });
    expect(again.status).toBe(409);
    expect(again.body["error"]).toMatchObject({ code: "RestoreAlreadyRunning", target: restoreId });
    expect(await restoreJobs()).toHaveLength(1);

    const done = await waitFor(
      async () => {
        await host.invoke("trackRestores");
        const r = await api("GET", `restores/${restoreId}`, dev.tokens.reader);
        return r.body["status"] === "InProgress" ? undefined : r.body;
      },
      `restore ${restoreId} to end`,
      { timeoutInMs: 90_000, intervalInMs: 250 },
    );
    expect(done, JSON.stringify(done)).toMatchObject({ status: "Completed", restoreId });
    expect(done["error"]).toBeUndefined();
    const files = done["files"] as Array<{
      name: string;
      kind: string;
      sizeInBytes: number;
      database?: string;
    }>;
    // The seeded databases, and Azure's own `postgres` (its file is kept, its rebuild skipped).
    const all = files.filter((f) => f.kind === "database");
    expect(all.map((f) => f.database).sort()).toEqual(["billing", "orders", "postgres"]);
    const databases = all.filter((f) => f.database !== "postgres");
    for (const f of databases) {
      expect(f.name).toMatch(new RegExp(`^[0-9a-f-]{36}_database_${f.database}\\.sql$`));
      expect(f.sizeInBytes).toBeGreaterThan(0);
    }
    expect(files.map((f) => f.kind).sort()).toEqual(
      ["database", "database", "database", "roles", "schema", "tablespaces", "timestamp"].sort(),
    );
    const commands = done["commands"] as string[];
    for (const f of databases) {
      expect(commands).toContain(`psql --dbname postgres --command 'CREATE DATABASE "${f.database}"'`);
      expect(
        commands.some((c) => c.includes(`--name "${f.name}"`) && c.includes("pg_restore --no-owner")),
      ).toBe(true);
    }
    expect(commands.some((c) => c.includes("_roles.sql") && c.includes("azure_superuser"))).toBe(true);
    expect(commands.some((c) => c.includes('CREATE DATABASE "postgres"'))).toBe(false);

    // What the container holds: each database file a real pg_dump custom archive, as big as the restore says.
    for (const f of databases) {
      const bytes = await restoresContainer().getBlobClient(f.name).downloadToBuffer();
      expect(bytes.subarray(0, 5).toString("latin1")).toBe("PGDMP");
      expect(bytes.length).toBe(f.sizeInBytes);
      archives.push({ name: f.name, bytes });
    }
  }, 180_000);

  it.skipIf(!pgRestore)(
    "real pg_restore --list reads each restored database file (skipped: PostgreSQL's client binaries are not installed)",
    async () => {
      expect(archives.length).toBeGreaterThan(0);
      const dir = await mkdtemp(join(tmpdir(), "restore-flow-"));
      try {
        for (const a of archives) {
          const file = join(dir, a.name);
          await writeFile(file, a.bytes);
          const { stdout } = await promisify(execFile)(pgRestore as string, ["--list", file]);
          expect(stdout).toContain("TABLE DATA");
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("refuses a container the vault identity may not write to (auto-grant off), before any Restore job, with the command", async () => {
    const before = (await restoreJobs()).length;
    const r = await api("POST", `${serverPath}/restores`, dev.tokens.restorer, {
      targetContainerId: NO_ROLE,
    });
    expect(r.status).toBe(409);
    expect(r.body["error"]).toMatchObject({ code: "VaultRoleMissing", target: NO_ROLE });
    const fix = String((r.body["error"] as { fix: string }).fix);
    expect(fix).toContain(`az role assignment create`);
    expect(fix).toContain(principalId);
    expect(fix).toContain(NO_ROLE);
    expect(await restoreJobs()).toHaveLength(before);
  });

  it("refuses an account that disallows cross-tenant replication, before any Restore job, with the update command", async () => {
    const before = (await restoreJobs()).length;
    const r = await api("POST", `${serverPath}/restores`, dev.tokens.restorer, { targetContainerId: LOCKED });
    expect(r.status).toBe(409);
    expect(r.body["error"]).toMatchObject({ code: "TargetAccountSettings" });
    expect(String((r.body["error"] as { message: string }).message)).toContain("allowCrossTenantReplication");
    expect(String((r.body["error"] as { fix: string }).fix)).toContain(
      `az storage account update --name pgflexlocked --resource-group rg-restore --subscription ${SUB} --allow-cross-tenant-replication true`,
    );
    expect(await restoreJobs()).toHaveLength(before);
  });

  it("refuses an account id given instead of a container id, before any Restore job, naming the container form", async () => {
    const before = (await restoreJobs()).length;
    const r = await api("POST", `${serverPath}/restores`, dev.tokens.restorer, {
      targetContainerId: accountId("pgflexrestores"),
    });
    expect(r.status).toBe(400);
    expect(r.body["error"]).toMatchObject({ code: "TargetIsAccount", target: "targetContainerId" });
    expect(String((r.body["error"] as { fix: string }).fix)).toContain("/blobServices/default/containers/");
    expect(await restoreJobs()).toHaveLength(before);
  });
});
