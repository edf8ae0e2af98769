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
 *
 * A server's data can change (`control.ts`): the declarations it replaced stay in `history`, each with the
 * emulator time it was replaced at, and each recovery point is pinned in `points` to the data as declared
 * when its backup started ({@link pinPoint}), so it restores the data of the backup it came from. `variants` lists changed data `make-archives.ts` also
 * commits archives for (machines without PostgreSQL), e.g. `{ "serverId": "…/orders-db", "database":
 * "orders", "emptyTables": ["orders"] }`.
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
  /** Earlier declarations, oldest first: each held for backups started before `untilMs` (emulator ms). */
  history?: Array<{ untilMs: number; databases: DatabaseDeclaration[] }>;
}

/** Changed data of a seeded server that `make-archives.ts` dumps too: its `database` with `emptyTables` emptied. */
export interface DataVariant {
  serverId: string;
  database: string;
  emptyTables: string[];
}

export interface PgDataSlice {
  servers: ServerDatabases[];
  variants?: DataVariant[];
  /** The databases each recovery point holds (by id), pinned when its backup completed. */
  points?: Record<string, DatabaseDeclaration[]>;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/u;

/** Problems of a declaration (names must be plain lower-case identifiers: they become files and SQL). */
export function declarationProblem(db: DatabaseDeclaration): string | undefined {
  if (!isObject(db) || typeof db.name !== "string")
    return "a database must be an object with a 'name' (a lower-case SQL identifier)";
  if (!IDENT.test(db.name)) return `database name '${db.name}' must be a lower-case SQL identifier`;
  if (["postgres", "template0", "template1"].includes(db.name))
    return `database name '${db.name}' is reserved`;
  if (db.tables !== undefined && !Array.isArray(db.tables))
    return `'tables' of '${db.name}' must be an array of tables`;
  const names = new Set<string>();
  for (const t of db.tables ?? []) {
    if (!isObject(t) || typeof t.name !== "string")
      return `every table of '${db.name}' must be an object with a 'name'`;
    if (!IDENT.test(t.name))
      return `table name '${t.name}' in '${db.name}' must be a lower-case SQL identifier`;
    if (names.has(t.name)) return `table '${db.name}.${t.name}' is declared twice`;
    names.add(t.name);
    if (
      !Array.isArray(t.columns) ||
      t.columns.length === 0 ||
      !t.columns.every((c) => typeof c === "string" && c.trim() !== "")
    )
      return `table '${db.name}.${t.name}' needs columns (SQL definitions such as "id integer primary key")`;
    if (t.rows !== undefined && !Array.isArray(t.rows))
      return `'rows' of '${db.name}.${t.name}' must be an array of rows`;
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

const databasesIn = (value: unknown): DatabaseDeclaration[] =>
  Array.isArray(value)
    ? value.filter((d): d is DatabaseDeclaration => isObject(d) && typeof d.name === "string")
    : [];

/** The declarations of a seed's `providers.pgdata` (invalid entries dropped). */
export function declarationsIn(value: unknown): ServerDatabases[] {
  if (!isObject(value) || !Array.isArray(value.servers)) return [];
  const out: ServerDatabases[] = [];
  for (const s of value.servers) {
    if (!isObject(s) || typeof s.serverId !== "string" || !Array.isArray(s.databases)) continue;
    const history = Array.isArray(s.history)
      ? s.history
          .filter((h): h is Record<string, unknown> => isObject(h) && typeof h.untilMs === "number")
          .map((h) => ({ untilMs: h.untilMs as number, databases: databasesIn(h.databases) }))
      : [];
    out.push({
      serverId: s.serverId,
      databases: databasesIn(s.databases),
      ...(history.length > 0 ? { history } : {}),
    });
  }
  return out;
}

/** The variants of a seed's `providers.pgdata` (invalid entries dropped). */
export function variantsIn(value: unknown): DataVariant[] {
  if (!isObject(value) || !Array.isArray(value.variants)) return [];
  return value.variants.filter(
    (v): v is DataVariant =>
      isObject(v) &&
      typeof v.serverId === "string" &&
      typeof v.database === "string" &&
      Array.isArray(v.emptyTables) &&
      v.emptyTables.every((t) => typeof t === "string"),
  );
}

/** `db` with the rows of `tables` removed. */
export function withTablesEmptied(db: DatabaseDeclaration, tables: string[]): DatabaseDeclaration {
  return {
    ...db,
    tables: (db.tables ?? []).map((t) => (tables.includes(t.name) ? { ...t, rows: [] } : t)),
  };
}

/**
 * Pins what recovery point `pointId` of `serverId` holds: the databases as declared when its backup started
 * (`startedAtMs`, emulator ms), so moving the backup's times later (tests, drills) does not change them.
 * Servers the state says nothing about are not recorded.
 */
export function pinPoint(
  context: ProviderContext,
  serverId: string,
  pointId: string,
  startedAtMs: number,
): void {
  const slice = context.state.slice<PgDataSlice>(PGDATA_SLICE, () => ({ servers: [] }));
  const wanted = serverId.toLowerCase();
  if (!declarationsIn(slice).some((s) => s.serverId.toLowerCase() === wanted)) return;
  slice.points = {
    ...(isObject(slice.points) ? slice.points : {}),
    [pointId]: databasesOf(context, serverId, startedAtMs),
  };
}

/** The databases recovery point `pointId` holds: as pinned when it was taken, else as declared at `startedAtMs`. */
export function databasesAt(
  context: ProviderContext,
  serverId: string,
  pointId: string,
  startedAtMs: number,
): DatabaseDeclaration[] {
  const slice = context.state.slice<PgDataSlice>(PGDATA_SLICE, () => ({ servers: [] }));
  const pinned = isObject(slice.points) ? slice.points[pointId] : undefined;
  return Array.isArray(pinned)
    ? databasesIn(pinned).filter((db) => !declarationProblem(db))
    : databasesOf(context, serverId, startedAtMs);
}

/**
 * The databases `serverId` declares in the running emulator's state (none when it declares none): as
 * declared now, or, given `atMs`, as declared for a backup started then (emulator ms).
 */
export function databasesOf(
  context: ProviderContext,
  serverId: string,
  atMs?: number,
): DatabaseDeclaration[] {
  const slice = context.state.slice<PgDataSlice>(PGDATA_SLICE, () => ({ servers: [] }));
  const wanted = serverId.toLowerCase();
  const server = declarationsIn(slice).find((s) => s.serverId.toLowerCase() === wanted);
  const earlier = atMs === undefined ? undefined : server?.history?.find((h) => atMs < h.untilMs)?.databases;
  const declared = earlier ?? server?.databases ?? [];
  return declared.filter((db) => {
    const problem = declarationProblem(db);
    if (problem)
      context.log(`pgdata: ${serverId}: ${problem}; left out of backups and restores (fix the seed).`);
    return !problem;
  });
}
