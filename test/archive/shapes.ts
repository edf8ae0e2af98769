/**
 * Databases of several shapes for proving the archive inspector against real pg_dump and pg_restore
 * (test/archive/realPostgres.test.ts) and for making the committed archives (fixtures/make.ts).
 */
import { run, type LocalPostgres } from "../../dev/emulator/pg/local.js";

export interface Shape {
  name: string;
  sql: string;
  /** Extra pg_dump options (`-Z 0`). */
  dumpArgs?: string[];
  /** Dump to stdout through a pipe, so pg_dump cannot seek back to record data offsets. */
  viaStdout?: boolean;
}

const manyTables = Array.from(
  { length: 60 },
  (_, i) => `CREATE TABLE t${i} (id int); INSERT INTO t${i} SELECT generate_series(1, ${i});`,
).join("\n");

export const SHAPES: Shape[] = [
  { name: "no-data", sql: "CREATE VIEW v AS SELECT 1 AS one; CREATE SEQUENCE s;" },
  {
    name: "empty-tables",
    sql: "CREATE TABLE a (id int); CREATE TABLE b (id int PRIMARY KEY, note text); CREATE SCHEMA other; CREATE TABLE other.c (x text);",
  },
  {
    name: "large-rows",
    sql: [
      "CREATE TABLE big (id int, body text);",
      // 3 MB per row: more than any chunk, inflated in many slices; random so gzip cannot shrink it to nothing.
      "INSERT INTO big SELECT g, (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 100000)) FROM generate_series(1, 4) g;",
      "CREATE TABLE small (id int); INSERT INTO small SELECT generate_series(1, 1000);",
    ].join("\n"),
  },
  {
    name: "bytea",
    sql: [
      "CREATE TABLE blobs (id int, data bytea, note text);",
      "INSERT INTO blobs SELECT g, decode(repeat(lpad(to_hex(g % 256), 2, '0'), g * 7), 'hex') || '\\x0a5c2e0a'::bytea, E'tab\\there\\nnewline \\\\. backslash' FROM generate_series(1, 500) g;",
      "INSERT INTO blobs VALUES (0, '\\x5c2e'::bytea, E'\\\\.');",
      "SELECT lo_from_bytea(0, decode(repeat('ab', 5000), 'hex'));",
      "SELECT lo_from_bytea(0, 'small large object');",
    ].join("\n"),
  },
  { name: "many-tables", sql: manyTables },
  {
    name: "non-ascii",
    sql: [
      'CREATE SCHEMA "données";',
      'CREATE TABLE "données"."Ünïcødé 表" ("名前" text, "ключ" int);',
      `INSERT INTO "données"."Ünïcødé 表" SELECT 'ß € 😀 ' || g, g FROM generate_series(1, 321) g;`,
      'CREATE TABLE "with space" ("x" text); INSERT INTO "with space" VALUES (E\'a\\tb\'), (E\'line\\nbreak\');',
    ].join("\n"),
  },
  {
    name: "stdout",
    viaStdout: true,
    sql: "CREATE TABLE piped (id int, v text); INSERT INTO piped SELECT g, repeat('p', g) FROM generate_series(1, 2000) g;",
  },
  ...Array.from({ length: 10 }, (_, level) => ({
    name: `gzip-${level}`,
    dumpArgs: ["-Z", String(level)],
    sql: "CREATE TABLE events (id int, kind text, at timestamptz); INSERT INTO events SELECT g, 'kind-' || (g % 17), '2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 5000) g; CREATE TABLE empty (id int);",
  })),
];

export interface TableCount {
  schema: string;
  name: string;
  rows: number;
}

const client = (pg: LocalPostgres): string[] => ["-h", "127.0.0.1", "-p", String(pg.port), "-U", "postgres"];

/** Creates `database` with the shape's objects and dumps it with real pg_dump -Fc into `file`. */
export async function dumpShape(
  pg: LocalPostgres,
  shape: Shape,
  database: string,
  file: string,
): Promise<void> {
  await pg.sql("postgres", `CREATE DATABASE "${database}";`);
  await pg.sql(database, shape.sql);
  const args = [...client(pg), "-Fc", ...(shape.dumpArgs ?? []), "-d", database];
  if (shape.viaStdout) {
    await run("sh", ["-c", `"$0" "$@" | cat > '${file}'`, pg.binaries.pgDump, ...args]);
  } else await run(pg.binaries.pgDump, [...args, "-f", file]);
}

/** Restores `file` with real pg_restore into a new database and returns its tables with count(*). */
export async function restoreAndCount(
  pg: LocalPostgres,
  file: string,
  database: string,
): Promise<TableCount[]> {
  const pgRestore = pg.binaries.pgRestore;
  if (!pgRestore) throw new Error("pg_restore is not installed next to pg_dump");
  await pg.sql("postgres", `CREATE DATABASE "${database}";`);
  await run(pgRestore, [...client(pg), "--exit-on-error", "-d", database, file]);
  const json = await run(pg.binaries.psql, [
    ...client(pg),
    "-d",
    database,
    "-Atc",
    `SELECT coalesce(json_agg(json_build_object('schema', schemaname, 'name', tablename,
       'rows', (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint)
       ORDER BY schemaname, tablename), '[]') FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
  ]);
  return JSON.parse(json) as TableCount[];
}
