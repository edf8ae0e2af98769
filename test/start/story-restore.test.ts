import { afterAll, describe, expect, it } from "vitest";
import { loadEstate } from "../../dev/start/estate.js";
import { spawnStart, type StartedProcess } from "./spawnStart.js";

const DEMO_CONTAINER =
  "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-backup/providers/Microsoft.Storage/storageAccounts/pgflexrestoresdemo/blobServices/default/containers/pgflex-restores";

describe("npm start's story restores orders-db as files, then tests a restore of it", () => {
  let start: StartedProcess | undefined;
  let story: Promise<string> | undefined;
  /** One npm start for the file: its output once the story has ended. */
  const storyOutput = (): Promise<string> =>
    (story ??= (async () => {
      start = spawnStart(["--port", "0", "--emulator-port", "0"]);
      await start.waitFor(/Story (complete|finished with problems)/, 240_000);
      return start.output();
    })());
  afterAll(async () => {
    if (!start || start.child.exitCode !== null) return;
    start.child.kill("SIGTERM");
    await start.exited;
  });

  it("allow-lists the demo container, and only it", async () => {
    expect((await loadEstate()).restoreTargets).toEqual([DEMO_CONTAINER]);
  });

  it("restores the backup it took to the demo container, then prints each file and the rebuild commands", async () => {
    const out = await storyOutput();
    expect(out, out).toContain("Story complete");
    expect(out).toMatch(/orders-db: \d+ recovery points?, the latest /);
    expect(out).toMatch(/Restore of orders-db as files to container pgflex-restores \(job [0-9a-f-]{36}\)/);
    expect(out).toContain("✔ Restore of orders-db: Completed");
    for (const db of ["orders", "billing"]) {
      expect(out).toMatch(new RegExp(`[0-9a-f-]{36}_database_${db}\\.sql \\(\\d+ bytes, database ${db}\\)`));
      expect(out).toContain(`psql --dbname postgres --command 'CREATE DATABASE "${db}"'`);
      expect(out).toMatch(
        new RegExp(
          `az storage blob download --auth-mode login --account-name pgflexrestoresdemo --container-name pgflex-restores --name "[0-9a-f-]{36}_database_${db}\\.sql" .*\\| pg_restore --no-owner`,
        ),
      );
    }
    expect(out).toMatch(/_roles\.sql" .*grep -Evw 'azure_superuser/);
  }, 300_000);

  it("then runs a restore test of orders-db and prints its outcome, time to restore, and each database's tables and rows", async () => {
    const out = await storyOutput();
    expect(out).toContain(
      "… Restore test of orders-db: its latest backup restored again, every archive opened and counted",
    );
    expect(out).toMatch(
      /✔ Restore test of orders-db: Passed, time to restore [\d.]+ s \(restore [\d.]+ s, inspection [\d.]+ s\)\n {2}The emulator runs 120× faster than Azure: that restore is about \d+ min \d+ s in Azure\./,
    );
    // The restored archives' own tables and rows (the demo estate's seed), and the empty `postgres` database.
    expect(out).toContain("  Database orders: public.customers 3 rows, public.orders 4 rows\n");
    expect(out).toContain("  Database billing: public.invoices 2 rows\n");
    expect(out).toContain("  Database postgres: no tables\n");
  }, 300_000);
});
