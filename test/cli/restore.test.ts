import { describe, expect, it } from "vitest";
import { runCliCaptured } from "../support/cli.js";
import type { CliServices } from "../../src/cli/services.js";
import type { loadConfig } from "../../src/lib/config/index.js";
import type { SweepReport } from "../../src/lib/compliance/sweeper.js";
import { useAzurite } from "../support/azurite.js";
import { ACCOUNT_ID, CONTAINER_ID, VAULT, aRestoreWorld } from "../restore/world.js";
import { serverId } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();

/** The CLI over the restore service of a scripted Azure (no emulator: it has no restores yet). */
async function aCli() {
  const world = await aRestoreWorld(azurite.connectionString);
  const rows = [
    {
      serverId: serverId("pg-one"),
      subscriptionId: "11111111-1111-1111-1111-111111111111",
      class: "Protected",
      instanceId: `${VAULT}/backupInstances/pg-one-pg-one-inst`,
      vaultId: VAULT,
    },
  ] as unknown as SweepReport["rows"];
  const services = (config: ReturnType<typeof loadConfig>) =>
    ({
      config,
      sweep: async () => ({ summary: {}, rows }) as unknown as SweepReport,
      restoreService: async () => world.service,
    }) as unknown as CliServices;
  const run = async (...argv: string[]) => {
    return runCliCaptured(argv, {
      env: {
        AzureWebJobsStorage: "UseDevelopmentStorage=true",
        PGFLEX_ARM_ENDPOINT: "https://127.0.0.1:1",
        PGFLEX_ARM_CREDENTIAL: "emulator",
        PGFLEX_AUTH_TENANT_ID: "33333333-3333-3333-3333-333333333333",
        PGFLEX_AUTH_AUDIENCE: "api://pgflex-autoprotect",
      },
      services,
      pollIntervalInMs: 1,
    });
  };
  return { world, run };
}

describe("CLI: recovery-points and restore", () => {
  it("lists recovery points newest first with retention tags", async () => {
    const { run } = await aCli();
    const res = await run("recovery-points", "pg-one");
    expect(res.code).toBe(0);
    expect(
      res.stdout
        .split("\n")
        .slice(2, 5)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(["ccc333", "bbb222", "aaa111"]);
    expect(res.stdout).toContain("Weekly");
  });

  it("restores with --wait and prints the files and the rebuild commands, exit 0", async () => {
    const { world, run } = await aCli();
    const guid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    world.azure.state.blobs = [
      { name: `${guid}_database_orders.sql`, sizeInBytes: 2048, createdOn: "2026-11-20T10:02:00.000Z" },
      { name: `${guid}_roles.sql`, sizeInBytes: 400, createdOn: "2026-11-20T10:02:00.000Z" },
    ];
    // The job completes while the CLI waits.
    const original = world.azure.operations.getRestoreJob;
    world.azure.operations.getRestoreJob = async (vaultId, jobId, options) => {
      world.azure.state.jobs.set(jobId, { status: "Completed", endTime: "2026-11-20T10:02:10.000Z" });
      return original(vaultId, jobId, options);
    };
    const res = await run(
      "restore",
      "pg-one",
      "--container",
      CONTAINER_ID,
      "--at",
      "2026-11-10T00:00:00Z",
      "--wait",
    );
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /^Restore \d{13}-[0-9a-f]{8} of pg-one \(recovery point bbb222, 2026-11-08T02:00:00Z\): Completed, job /,
    );
    expect(res.stdout).toContain(`Files:\n  ${guid}_database_orders.sql  2048 bytes\n`);
    expect(res.stdout).toContain(`| pg_restore --no-owner --no-privileges --dbname 'orders'`);
  });

  it("refuses an account id with the container id's shape, exit 3, and starts nothing", async () => {
    const { world, run } = await aCli();
    const res = await run("restore", "pg-one", "--container", ACCOUNT_ID);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(
      `Fix: Give the container's id: ${ACCOUNT_ID}/blobServices/default/containers/<container>.`,
    );
    expect(world.azure.state.restores).toEqual([]);
  });

  it("refuses --point with --at, exit 2", async () => {
    const { world, run } = await aCli();
    const res = await run(
      "restore",
      "pg-one",
      "--container",
      CONTAINER_ID,
      "--point",
      "x",
      "--at",
      "2026-11-10T00:00:00Z",
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("Give --point or --at, not both.");
    expect(world.azure.state.restores).toEqual([]);
  });
});
