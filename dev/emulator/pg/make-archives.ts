/**
 * `npm run emulator:archives [seed.json ...]`: makes the committed archives the emulator serves where
 * PostgreSQL is not installed. Loads every database the seeds declare (`providers.pgdata`; default the two
 * seeds in dev/emulator/seeds/) into a throw-away local PostgreSQL, dumps each with real `pg_dump -Fc`, the
 * `postgres` database and the globals with `pg_dumpall`, and writes them with a manifest (pg_dump version,
 * fingerprints of the declarations) to dev/emulator/seeds/archives/. Also dumps the changed data the seeds
 * list in `providers.pgdata.variants` (a declared database with some tables emptied), so restores of data
 * changed through the `pgdata` controls work without PostgreSQL too. Needs initdb, postgres, psql, pg_dump.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import {
  databaseSql,
  declarationProblem,
  declarationsIn,
  fingerprint,
  PGDATA_SLICE,
  variantsIn,
  withTablesEmptied,
} from "./databases.js";
import type { DatabaseDeclaration } from "./databases.js";
import { findPostgresBinaries, startLocalPostgres } from "./local.js";
import { ARCHIVES_DIR, dumpFromLocal, MANIFEST } from "./snapshots.js";
import type { ArchiveManifest } from "./snapshots.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const seeds = process.argv.slice(2);
if (seeds.length === 0)
  seeds.push(join(repo, "dev/emulator/seeds/demo-estate.json"), join(repo, "dev/emulator/seeds/demo.json"));

const binaries = findPostgresBinaries();
if (!binaries) {
  process.stderr.write(
    "PostgreSQL not found (initdb, postgres, psql, pg_dump, pg_dumpall): install PostgreSQL 15+ or set PGFLEX_PG_BIN.\n",
  );
  process.exit(1);
}

const declared = new Map<string, DatabaseDeclaration>();
/** Changed data, dumped one at a time under the declared name before the seeds' own databases are loaded. */
const variants = new Map<string, DatabaseDeclaration>();
for (const seed of seeds) {
  const parsed = JSON.parse(await readFile(seed, "utf8")) as { providers?: Record<string, unknown> };
  for (const server of declarationsIn(parsed.providers?.[PGDATA_SLICE])) {
    for (const db of server.databases) {
      const problem = declarationProblem(db);
      if (problem) {
        process.stderr.write(`${seed}: ${server.serverId}: ${problem}\n`);
        process.exit(1);
      }
      declared.set(fingerprint(db), db);
    }
  }
  for (const variant of variantsIn(parsed.providers?.[PGDATA_SLICE])) {
    const server = declarationsIn(parsed.providers?.[PGDATA_SLICE]).find(
      (s) => s.serverId.toLowerCase() === variant.serverId.toLowerCase(),
    );
    const db = server?.databases.find((d) => d.name === variant.database);
    const unknown = variant.emptyTables.filter((t) => !(db?.tables ?? []).some((d) => d.name === t));
    if (!db || unknown.length > 0) {
      process.stderr.write(
        `${seed}: variant of ${variant.serverId}: ${db ? `no table(s) ${unknown.join(", ")} in '${db.name}'` : `no database '${variant.database}' declared for that server`}\n`,
      );
      process.exit(1);
    }
    const changed = withTablesEmptied(db, variant.emptyTables);
    if (!declared.has(fingerprint(changed))) variants.set(fingerprint(changed), changed);
  }
}

const pg = await startLocalPostgres(binaries);
try {
  for (const name of await readdir(ARCHIVES_DIR).catch(() => [] as string[]))
    if (name.endsWith(".dump") || name.endsWith(".sql") || name === MANIFEST)
      await rm(join(ARCHIVES_DIR, name));
  const variantFiles = new Map<string, string>();
  for (const [fp, db] of variants) {
    const file = `${db.name}-${fp}.dump`;
    await pg.sql("postgres", `CREATE DATABASE ${db.name};`);
    await pg.sql(db.name, databaseSql(db));
    await pg.dumpDatabase(db.name, join(ARCHIVES_DIR, file));
    await pg.sql("postgres", `DROP DATABASE ${db.name} WITH (FORCE);`);
    variantFiles.set(fp, file);
  }
  const used = new Set<string>();
  const files = await dumpFromLocal(pg, [...declared.values()], ARCHIVES_DIR, async (db) => {
    // The archive records this name: the declared one unless two declarations share it.
    const local = used.has(db.name) ? `${db.name}_${fingerprint(db).slice(0, 8)}` : db.name;
    used.add(local);
    await pg.sql("postgres", `CREATE DATABASE ${local};`);
    await pg.sql(local, databaseSql(db));
    return local;
  });
  const manifest: ArchiveManifest = {
    pgDumpVersion: binaries.pgDumpVersion,
    madeBy: "dev/emulator/pg/make-archives.ts",
    seeds: seeds.map((s) => relative(repo, s)),
    databases: Object.fromEntries(
      [...declared.entries()]
        .map(([fp, db]) => [
          fp,
          {
            name: db.name,
            file: basename(files.databases.find((f) => f.file.endsWith(`${db.name}-${fp}.dump`))?.file ?? ""),
          },
        ])
        .concat(
          [...variants.entries()].map(([fp, db]) => [
            fp,
            { name: db.name, file: variantFiles.get(fp) ?? "" },
          ]),
        ),
    ),
    postgres: "postgres.dump",
    roles: basename(files.roles),
    schema: basename(files.schema),
    tablespaces: basename(files.tablespaces),
  };
  const manifestPath = join(ARCHIVES_DIR, MANIFEST);
  const style = { ...(await resolveConfig(manifestPath)), filepath: manifestPath };
  await writeFile(manifestPath, await format(JSON.stringify(manifest), style), "utf8");
  process.stdout.write(
    `${declared.size} database archive(s), ${variants.size} of changed data, and the globals written to ${relative(repo, ARCHIVES_DIR)} with ${binaries.pgDumpVersion}\n`,
  );
} finally {
  await pg.stop();
}
