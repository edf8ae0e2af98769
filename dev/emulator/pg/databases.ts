import { createHash } from "node:crypto";
import type { ProviderContext } from "../core/provider.js";
import { isObject } from "../core/json.js";

/**
 * The small databases seeded servers declare (seed key `providers.pgdata`):
 *
 * ```json
 * { "servers": [{ "serverId": "/subscriptions/…/flexibleServers/orders-db", "databases": [
 *   { "name": "orders", "tables": [
 *     { "name": "customers", "columns": ["id integer primary key", "name text not null"], "rows": [[1, "Ada"]] }
 *   ] } ] }] }
 * ```
 *
 * Where PostgreSQL is installed the emulator loads them into its local PostgreSQL and dumps them with
 * pg_dump at each backup; elsewhere it serves the archives `make-archives.ts` made from the same declarations.
 */

export const PGDATA_SLICE = "pgdata";

export interface TableDeclaration {
  name: string;
  /** Column definitions as SQL, e.g. `"id integer primary key"`. */
  columns: string[];
  /** Literal values: numbers, strings, booleans or null. */
  rows?: unknown[][];
}

export interface DatabaseDeclaration {
  name: string;
  tables?: TableDeclaration[];
}

export interface ServerDatabases {
  serverId: string;
  databases: DatabaseDeclaration[];
}

export interface PgDataSlice {
  servers: ServerDatabases[];
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/u;

/** Problems of a declaration (names must be plain lower-case identifiers: they become files and SQL). */
export function declarationProblem(db: DatabaseDeclaration): string | undefined {
  if (!IDENT.test(db.name)) return `database name '${db.name}' must be a lower-case SQL identifier`;
  if (["postgres", "template0", "template1"].includes(db.name))
    return `database name '${db.name}' is reserved`;
  for (const t of db.tables ?? []) {
    if (!IDENT.test(t.name))
      return `table name '${t.name}' in '${db.name}' must be a lower-case SQL identifier`;
    if (!Array.isArray(t.columns) || t.columns.length === 0)
      return `table '${db.name}.${t.name}' needs columns`;
    for (const row of t.rows ?? [])
      if (!Array.isArray(row) || row.length !== t.columns.length)
        return `every row of '${db.name}.${t.name}' needs ${t.columns.length} values`;
  }
  return undefined;
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  return `'${String(value).replaceAll("'", "''")}'`;
}

/** The SQL that builds a declared database's tables and rows (run inside that database). */
export function databaseSql(db: DatabaseDeclaration): string {
  const lines: string[] = [];
  for (const t of db.tables ?? []) {
    lines.push(`CREATE TABLE ${t.name} (${t.columns.join(", ")});`);
    for (const row of t.rows ?? [])
      lines.push(`INSERT INTO ${t.name} VALUES (${row.map(literal).join(", ")});`);
  }
  return `${lines.join("\n")}\n`;
}

/** Same declaration ⇒ same fingerprint: how a committed archive is matched to a seed. */
export function fingerprint(db: DatabaseDeclaration): string {
  const canonical = JSON.stringify({
    name: db.name,
    tables: (db.tables ?? []).map((t) => ({ name: t.name, columns: t.columns, rows: t.rows ?? [] })),
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

/** The declarations of a seed's `providers.pgdata` (invalid entries dropped). */
export function declarationsIn(value: unknown): ServerDatabases[] {
  if (!isObject(value) || !Array.isArray(value.servers)) return [];
  const out: ServerDatabases[] = [];
  for (const s of value.servers) {
    if (!isObject(s) || typeof s.serverId !== "string" || !Array.isArray(s.databases)) continue;
    const databases = (s.databases as unknown[]).filter(
      (d): d is DatabaseDeclaration => isObject(d) && typeof d.name === "string",
    );
    out.push({ serverId: s.serverId, databases });
  }
  return out;
}

/** The databases `serverId` declares in the running emulator's state (none when it declares none). */
export function databasesOf(context: ProviderContext, serverId: string): DatabaseDeclaration[] {
  const slice = context.state.slice<PgDataSlice>(PGDATA_SLICE, () => ({ servers: [] }));
  const wanted = serverId.toLowerCase();
  const declared = declarationsIn(slice).find((s) => s.serverId.toLowerCase() === wanted)?.databases ?? [];
  return declared.filter((db) => {
    const problem = declarationProblem(db);
    if (problem)
      context.log(`pgdata: ${serverId}: ${problem}; left out of backups and restores (fix the seed).`);
    return !problem;
  });
}
