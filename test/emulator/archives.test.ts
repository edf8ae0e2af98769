import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  declarationProblem,
  declarationsIn,
  fingerprint,
  variantsIn,
  withTablesEmptied,
} from "../../dev/emulator/pg/databases.js";
import { ARCHIVES_DIR, readManifest } from "../../dev/emulator/pg/snapshots.js";

const seeds = ["dev/emulator/seeds/demo-estate.json", "dev/emulator/seeds/demo.json"];

describe("committed pg_dump archives (served where PostgreSQL is not installed)", () => {
  const manifest = readManifest(ARCHIVES_DIR);

  it("record the pg_dump that made them", () => {
    expect(manifest?.pgDumpVersion).toMatch(/^pg_dump \(PostgreSQL\) \d+\.\d+/u);
    expect(manifest?.madeBy).toBe("dev/emulator/pg/make-archives.ts");
  });

  it("cover every database the seeds declare, made from the same declaration", () => {
    const stale: string[] = [];
    for (const seed of seeds) {
      const parsed = JSON.parse(readFileSync(seed, "utf8")) as { providers?: Record<string, unknown> };
      for (const server of declarationsIn(parsed.providers?.pgdata)) {
        for (const db of server.databases) {
          expect(declarationProblem(db)).toBeUndefined();
          if (!manifest?.databases[fingerprint(db)])
            stale.push(`${seed}: ${db.name} (run 'npm run emulator:archives' where PostgreSQL is installed)`);
        }
      }
    }
    expect(stale).toEqual([]);
  });

  it("cover the changed data the seeds list as variants (orders-db with its orders emptied)", () => {
    const stale: string[] = [];
    let count = 0;
    for (const seed of seeds) {
      const parsed = JSON.parse(readFileSync(seed, "utf8")) as { providers?: Record<string, unknown> };
      const servers = declarationsIn(parsed.providers?.pgdata);
      for (const variant of variantsIn(parsed.providers?.pgdata)) {
        count += 1;
        const db = servers
          .find((s) => s.serverId === variant.serverId)
          ?.databases.find((d) => d.name === variant.database);
        expect(db, `${seed}: variant of an undeclared database '${variant.database}'`).toBeDefined();
        const changed = withTablesEmptied(db ?? { name: variant.database }, variant.emptyTables);
        if (!manifest?.databases[fingerprint(changed)])
          stale.push(
            `${seed}: ${variant.database} without ${variant.emptyTables.join(", ")} (run 'npm run emulator:archives')`,
          );
      }
    }
    expect(count).toBeGreaterThan(0);
    expect(stale).toEqual([]);
  });

  it("are real pg_dump custom archives and plain SQL, a few KB each", () => {
    const files = [manifest?.postgres, ...Object.values(manifest?.databases ?? {}).map((d) => d.file)];
    for (const file of files) {
      const data = readFileSync(join(ARCHIVES_DIR, String(file)));
      expect(data.subarray(0, 5).toString("latin1")).toBe("PGDMP");
      expect(data.length).toBeLessThan(16 * 1024);
    }
    expect(readFileSync(join(ARCHIVES_DIR, String(manifest?.roles)), "utf8")).toContain(
      "CREATE ROLE azuresu;",
    );
  });
});
