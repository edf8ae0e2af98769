/**
 * The inspector against things nobody here wrote: databases of several shapes dumped with real pg_dump -Fc,
 * restored with real pg_restore, and the inspector's table list and row counts compared with count(*).
 * Skipped (with the reason) where PostgreSQL is not installed; test/archive/fixtures keeps the core running.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findPostgresBinaries, startLocalPostgres, type LocalPostgres } from "../../dev/emulator/pg/local.js";
import { inspectArchive } from "../../src/lib/archive/inspect.js";
import { bufferSource } from "../../src/lib/archive/source.js";
import { dumpShape, restoreAndCount, SHAPES } from "./shapes.js";

const binaries = findPostgresBinaries();
const reason = !binaries
  ? "PostgreSQL is not installed (initdb, postgres, psql, pg_dump)"
  : !binaries.pgRestore
    ? "pg_restore is not installed"
    : undefined;

const byName = (a: { schema: string; name: string }, b: { schema: string; name: string }): number =>
  a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

describe.skipIf(reason !== undefined)(
  `the inspector agrees with real pg_restore${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    let pg: LocalPostgres;
    beforeAll(async () => {
      pg = await startLocalPostgres(binaries!);
    }, 120_000);
    afterAll(async () => {
      await pg?.stop();
    });

    it.each(SHAPES.map((shape, i) => [shape.name, shape, i] as const))(
      "counts the tables and rows pg_restore restores: %s",
      async (_name, shape, i) => {
        const file = join(pg.dir, "archives", `${shape.name}.dump`);
        await dumpShape(pg, shape, `shape_${i}`, file);
        const restored = await restoreAndCount(pg, file, `restored_${i}`);

        const inspection = await inspectArchive(bufferSource(await readFile(file), 8 * 1024));

        const inspected = inspection.tables.map((t) => ({
          schema: t.schema ?? "",
          name: t.name,
          rows: t.rows,
        }));
        expect(inspected.sort(byName)).toEqual(
          restored.map((t) => ({ ...t, rows: Number(t.rows) })).sort(byName),
        );
        expect(inspection.header.database).toBe(`shape_${i}`);
        if (shape.name === "bytea") expect(inspection.largeObjects).toEqual({ count: 2, bytes: 5018 });
        const header = await inspectArchive(bufferSource(await readFile(file)), { level: "header" });
        expect(header.tables.map((t) => t.name).sort()).toEqual(restored.map((t) => t.name).sort());
        expect(header.toc).toEqual(inspection.toc);
      },
      120_000,
    );
  },
);
