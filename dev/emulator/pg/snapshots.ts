import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProviderContext } from "../core/provider.js";
import { databasesAt, databaseSql, fingerprint, PGDATA_SLICE, pinPoint } from "./databases.js";
import type { DatabaseDeclaration } from "./databases.js";
import { findPostgresBinaries, startLocalPostgres } from "./local.js";
import type { LocalPostgres } from "./local.js";

/**
 * What a restore as files writes, per recovery point: a pg_dump custom archive per database (the
 * `postgres` database included, as Azure's restores show) and the plain-SQL roles, schema and tablespaces
 * dumps. Taken from the emulator's local PostgreSQL at each backup where PostgreSQL is installed; elsewhere
 * read from the archives committed in `dev/emulator/seeds/archives/` (made by `make-archives.ts` with real
 * pg_dump from the same declarations, matched by fingerprint).
 */

export interface RestoreFileSet {
  databases: Array<{ name: string; file: string }>;
  roles: string;
  schema: string;
  tablespaces: string;
  source: "local-postgres" | "committed-archives";
  pgDumpVersion: string;
  /** Declared databases without an archive (committed archives made from another seed). */
  missing: string[];
}

export interface ArchiveManifest {
  pgDumpVersion: string;
  madeBy: string;
  seeds: string[];
  /** By fingerprint of the declaration. */
  databases: Record<string, { name: string; file: string }>;
  postgres: string;
  roles: string;
  schema: string;
  tablespaces: string;
}

export const ARCHIVES_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "seeds", "archives");
export const MANIFEST = "manifest.json";

/** `providerOptions.pgdata` of the emulator. */
interface PgDataOptions {
  /** Use a local PostgreSQL where installed (default true); false always serves the committed archives. */
  localPostgres?: boolean;
  /** Folder of the committed archives (tests). */
  archivesDir?: string;
}

interface Manager {
  pg?: Promise<LocalPostgres>;
  /** Fingerprint of the declaration loaded under each database name of the local PostgreSQL. */
  loaded: Map<string, string>;
  /** Loads and dumps one at a time: a changed database is dropped and recreated under its name. */
  queue: Promise<unknown>;
  snapshots: Map<string, Promise<RestoreFileSet>>;
}

const managers = new WeakMap<object, Manager>();

function managerOf(context: ProviderContext): Manager {
  let m = managers.get(context.state);
  if (!m) {
    m = { loaded: new Map(), queue: Promise.resolve(), snapshots: new Map() };
    managers.set(context.state, m);
  }
  return m;
}

function optionsOf(context: ProviderContext): PgDataOptions {
  return (context.options.providerOptions[PGDATA_SLICE] ?? {}) as PgDataOptions;
}

/** True when this emulator takes its dumps from a local PostgreSQL. */
export function usesLocalPostgres(context: ProviderContext): boolean {
  return optionsOf(context).localPostgres !== false && findPostgresBinaries() !== undefined;
}

function postgresOf(context: ProviderContext): Promise<LocalPostgres> {
  const m = managerOf(context);
  const binaries = findPostgresBinaries();
  if (!binaries) return Promise.reject(new Error("PostgreSQL binaries not found."));
  m.pg ??= startLocalPostgres(binaries);
  return m.pg;
}

/** Has `db` loaded under its own name, dropping and recreating it when another declaration was loaded there. */
async function ensureLoaded(m: Manager, pg: LocalPostgres, db: DatabaseDeclaration): Promise<string> {
  const fp = fingerprint(db);
  if (m.loaded.get(db.name) === fp) return db.name;
  m.loaded.delete(db.name);
  await pg.sql("postgres", `DROP DATABASE IF EXISTS ${db.name} WITH (FORCE);`);
  await pg.sql("postgres", `CREATE DATABASE ${db.name};`);
  await pg.sql(db.name, databaseSql(db));
  m.loaded.set(db.name, fp);
  return db.name;
}

/** Dumps `databases` (and `postgres`, and the globals) from the local PostgreSQL into `dir`. */
export async function dumpFromLocal(
  pg: LocalPostgres,
  databases: DatabaseDeclaration[],
  dir: string,
  load: (db: DatabaseDeclaration) => Promise<string>,
): Promise<RestoreFileSet> {
  await mkdir(dir, { recursive: true });
  const out: RestoreFileSet["databases"] = [];
  const postgresFile = join(dir, "postgres.dump");
  await pg.dumpDatabase("postgres", postgresFile);
  out.push({ name: "postgres", file: postgresFile });
  for (const db of databases) {
    const local = await load(db);
    const file = join(dir, `${db.name}-${fingerprint(db)}.dump`);
    await pg.dumpDatabase(local, file);
    out.push({ name: db.name, file });
  }
  const globals = {} as Record<"roles" | "schema" | "tablespaces", string>;
  for (const kind of ["roles", "schema", "tablespaces"] as const) {
    globals[kind] = join(dir, `${kind}.sql`);
    await writeFile(globals[kind], await pg.dumpGlobals(kind), "utf8");
  }
  return {
    databases: out,
    ...globals,
    source: "local-postgres",
    pgDumpVersion: pg.binaries.pgDumpVersion,
    missing: [],
  };
}

function snapshotNow(
  context: ProviderContext,
  databases: DatabaseDeclaration[],
  recoveryPointId: string,
): Promise<RestoreFileSet> {
  const m = managerOf(context);
  const taking = m.queue.then(async () => {
    const pg = await postgresOf(context);
    return dumpFromLocal(pg, databases, join(pg.dir, "archives", recoveryPointId), (db) =>
      ensureLoaded(m, pg, db),
    );
  });
  m.queue = taking.catch(() => undefined);
  return taking;
}

/**
 * Called when a backup completes: pins the server's databases as declared when the backup started
 * (`startedAtMs`, emulator ms) to `recoveryPointId` and, with a local PostgreSQL, dumps them now and keeps
 * the archives for it. Servers that
 * declare none are not dumped (their restore serves the committed empty `postgres` archive). Never throws;
 * a failed dump is logged and the restore tries again.
 */
export function snapshotAtBackup(
  context: ProviderContext,
  serverId: string,
  recoveryPointId: string,
  startedAtMs: number,
): void {
  pinPoint(context, serverId, recoveryPointId, startedAtMs);
  const databases = databasesAt(context, serverId, recoveryPointId, startedAtMs);
  if (!usesLocalPostgres(context) || databases.length === 0) return;
  const taking = snapshotNow(context, databases, recoveryPointId);
  taking.catch((error: unknown) =>
    context.log(`pg: dump for recovery point ${recoveryPointId} failed: ${String(error)}`),
  );
  managerOf(context).snapshots.set(recoveryPointId, taking);
}

export function readManifest(dir: string): ArchiveManifest | undefined {
  const file = join(dir, MANIFEST);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ArchiveManifest) : undefined;
}

/** The committed archives for `databases` (by fingerprint). */
export function committedFiles(databases: DatabaseDeclaration[], dir = ARCHIVES_DIR): RestoreFileSet {
  const manifest = readManifest(dir);
  if (!manifest)
    throw new Error(
      `No committed archives at ${dir}: run 'npm run emulator:archives' where PostgreSQL is installed.`,
    );
  const out: RestoreFileSet["databases"] = [{ name: "postgres", file: join(dir, manifest.postgres) }];
  const missing: string[] = [];
  for (const db of databases) {
    const archive = manifest.databases[fingerprint(db)];
    if (archive) out.push({ name: db.name, file: join(dir, archive.file) });
    else missing.push(db.name);
  }
  return {
    databases: out,
    roles: join(dir, manifest.roles),
    schema: join(dir, manifest.schema),
    tablespaces: join(dir, manifest.tablespaces),
    source: "committed-archives",
    pgDumpVersion: manifest.pgDumpVersion,
    missing,
  };
}

/** How {@link missingArchivesMessage} starts. */
export const NO_ARCHIVE = "No pg_dump archive";

/**
 * What a restore says when the committed archives lack some of the databases it must write: which, and
 * how to get them.
 */
export function missingArchivesMessage(missing: string[]): string {
  const names = missing.map((n) => `'${n}'`).join(", ");
  return `${NO_ARCHIVE} of database(s) ${names} as this recovery point holds them: the committed archives in dev/emulator/seeds/archives were made from other data. Install PostgreSQL 15+ (or set PGFLEX_PG_BIN) so the emulator dumps the data itself, or list the changed data in a seed's providers.pgdata.variants and run 'npm run emulator:archives'`;
}

/**
 * The files a restore of `recoveryPointId` (from a backup started at `startedAtMs`, emulator ms) writes:
 * the dumps taken at that backup, else a dump taken now of the data it holds (pinned at the backup, else as
 * declared then; local PostgreSQL), else the committed archives of that data. `missing` names the databases no committed archive holds.
 */
export async function restoreFilesFor(
  context: ProviderContext,
  serverId: string,
  recoveryPointId: string,
  startedAtMs: number,
): Promise<RestoreFileSet> {
  const m = managerOf(context);
  const databases = databasesAt(context, serverId, recoveryPointId, startedAtMs);
  const taken = m.snapshots.get(recoveryPointId);
  if (taken) {
    try {
      return await taken;
    } catch {
      // Logged when it failed; fall through.
    }
  }
  if (usesLocalPostgres(context) && databases.length > 0) {
    try {
      const now = snapshotNow(context, databases, recoveryPointId);
      m.snapshots.set(recoveryPointId, now);
      return await now;
    } catch (error) {
      context.log(`pg: dump at restore failed, serving committed archives: ${String(error)}`);
    }
  }
  return committedFiles(databases, optionsOf(context).archivesDir ?? ARCHIVES_DIR);
}

/** Stops this emulator's local PostgreSQL, if it started one (emulator stop). */
export async function stopLocalPostgres(context: ProviderContext): Promise<void> {
  const m = managers.get(context.state);
  if (!m?.pg) return;
  const pg = m.pg;
  delete m.pg;
  await (await pg.catch(() => undefined))?.stop();
}
