import { isObject } from "../core/json.js";
import type { EmulatorResponse, ProviderContext } from "../core/provider.js";
import { armError } from "../core/responses.js";
import {
  declarationProblem,
  declarationsIn,
  fingerprint,
  PGDATA_SLICE,
  withTablesEmptied,
} from "./databases.js";
import type { DatabaseDeclaration, PgDataSlice, ServerDatabases } from "./databases.js";

/**
 * Test and drill controls of the servers' data (`providers.pgdata`): change what a server holds so that
 * backups started from now on restore the new data, while earlier recovery points keep restoring the data
 * of the backup they came from. In-process: `createPgDataControl(core.context)` (`RunningEmulator.pgdata`).
 * Over HTTP, through the core's control API (loopback, no bearer): `control.invoke(method, "/pgdata/...", body)`:
 * - `GET /_emulator/pgdata/servers` → every server's declared databases (history left out)
 * - `PUT /_emulator/pgdata/servers` `{ serverId, databases: DatabaseDeclaration[] }` → `{ serverId, databases }`
 *   (400 naming the problem)
 * - `POST /_emulator/pgdata/servers/empty-table` `{ serverId, database, table }` → `{ serverId, databases }`
 *   (404 naming what is missing; 409 when rows of another table reference it)
 * Without a local PostgreSQL a restore of changed data needs its archive committed (see `make-archives.ts`);
 * when none matches, the restore job fails saying so.
 */

export interface PgDataControl {
  /** Replaces what `serverId` holds, for backups started from now on. */
  setServerDatabases(serverId: string, databases: DatabaseDeclaration[]): ServerDatabases;
  /** Removes every row of `database.table` of `serverId`, for backups started from now on. */
  emptyTable(serverId: string, database: string, table: string): ServerDatabases;
}

/** A refused control call: `status` 400 (bad input), 404 (nothing of that name) or 409 (conflict). */
export class PgDataControlError extends Error {
  override readonly name = "PgDataControlError";
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
  }
}

const SERVER_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/[^/]+$/iu;

const bad = (message: string): PgDataControlError => new PgDataControlError(message, 400);

function checkServerId(serverId: unknown): string {
  if (typeof serverId !== "string" || !SERVER_ID.test(serverId))
    throw bad(
      `'serverId' must be a flexible server's resource id ('/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.DBforPostgreSQL/flexibleServers/<name>'), not '${String(serverId)}'.`,
    );
  return serverId;
}

function checkDatabases(databases: unknown): DatabaseDeclaration[] {
  if (!Array.isArray(databases))
    throw bad(
      `'databases' must be an array of databases ({ name, tables: [{ name, columns, rows }] }), not '${JSON.stringify(databases) ?? "undefined"}'.`,
    );
  const names = new Set<string>();
  databases.forEach((db: DatabaseDeclaration, i) => {
    const problem = declarationProblem(db);
    if (problem) throw bad(`'databases[${i}]': ${problem}.`);
    if (names.has(db.name)) throw bad(`'databases[${i}]': database '${db.name}' is declared twice.`);
    names.add(db.name);
  });
  return structuredClone(databases as DatabaseDeclaration[]);
}

const sameData = (a: DatabaseDeclaration[], b: DatabaseDeclaration[]): boolean =>
  a.length === b.length && a.every((db, i) => b[i] !== undefined && fingerprint(db) === fingerprint(b[i]));

/** Tables of `db` other than `table` whose rows reference `table` (`references <table>` in a column). */
function referencing(db: DatabaseDeclaration, table: string): string[] {
  const pattern = new RegExp(`\\breferences\\s+(?:public\\.)?"?${table}"?\\b`, "iu");
  return (db.tables ?? [])
    .filter((t) => t.name !== table && (t.rows ?? []).length > 0 && t.columns.some((c) => pattern.test(c)))
    .map((t) => t.name);
}

export function createPgDataControl(context: ProviderContext): PgDataControl {
  const slice = (): PgDataSlice => {
    const s = context.state.slice<PgDataSlice>(PGDATA_SLICE, () => ({ servers: [] }));
    if (!Array.isArray(s.servers)) s.servers = [];
    return s;
  };
  const find = (serverId: string): ServerDatabases | undefined =>
    declarationsIn(slice()).find((s) => s.serverId.toLowerCase() === serverId.toLowerCase());

  const control: PgDataControl = {
    setServerDatabases(serverId, databases) {
      const id = checkServerId(serverId);
      const next = checkDatabases(databases);
      const current = find(id);
      const s = slice();
      const previous = current?.databases ?? [];
      const history = [...(current?.history ?? [])];
      if (!sameData(previous, next)) history.push({ untilMs: context.clock.now(), databases: previous });
      const updated: ServerDatabases = {
        serverId: current?.serverId ?? id,
        databases: next,
        ...(history.length > 0 ? { history } : {}),
      };
      const at = s.servers.findIndex(
        (x: unknown) =>
          isObject(x) && typeof x.serverId === "string" && x.serverId.toLowerCase() === id.toLowerCase(),
      );
      if (at >= 0) s.servers[at] = updated;
      else s.servers.push(updated);
      return { serverId: updated.serverId, databases: structuredClone(next) };
    },
    emptyTable(serverId, database, table) {
      const id = checkServerId(serverId);
      for (const [field, value] of [
        ["database", database],
        ["table", table],
      ] as const)
        if (typeof value !== "string" || value === "")
          throw bad(`'${field}' must be the name of a ${field} of the server, not '${String(value)}'.`);
      const current = find(id);
      if (!current || current.databases.length === 0)
        throw new PgDataControlError(
          `Server '${id}' declares no databases: declare them first (PUT /_emulator/pgdata/servers or the seed's providers.pgdata).`,
          404,
        );
      const db = current.databases.find((d) => d.name === database);
      if (!db)
        throw new PgDataControlError(
          `Server '${id}' has no database '${database}'; it has ${current.databases.map((d) => `'${d.name}'`).join(", ")}.`,
          404,
        );
      if (!(db.tables ?? []).some((t) => t.name === table))
        throw new PgDataControlError(
          `Database '${database}' of server '${id}' has no table '${table}'; it has ${(db.tables ?? []).map((t) => `'${t.name}'`).join(", ") || "none"}.`,
          404,
        );
      const blocking = referencing(db, table);
      if (blocking.length > 0)
        throw new PgDataControlError(
          `Rows of ${blocking.map((t) => `'${database}.${t}'`).join(", ")} reference '${database}.${table}': empty ${blocking.length > 1 ? "those tables" : "that table"} first.`,
          409,
        );
      return control.setServerDatabases(
        current.serverId,
        current.databases.map((d) => (d === db ? withTablesEmptied(d, [table]) : d)),
      );
    },
  };
  return control;
}

/**
 * The HTTP face of {@link createPgDataControl}, ahead of the core's control API (`startEmulator` chains it):
 * the response for a `/_emulator/pgdata/...` call, undefined for any other path.
 */
export function handlePgDataControl(
  request: { method: string; path: string; body: unknown },
  context: ProviderContext,
): EmulatorResponse | undefined {
  const path = request.path.replace(/\/+$/u, "");
  if (!path.startsWith("/_emulator/pgdata")) return undefined;
  const route = `${request.method.toUpperCase()} ${path.slice("/_emulator/pgdata".length)}`;
  const control = createPgDataControl(context);
  const body = (): Record<string, unknown> => {
    if (!isObject(request.body)) throw bad("The request body must be a JSON object.");
    return request.body;
  };
  try {
    switch (route) {
      case "GET /servers":
        return {
          status: 200,
          body: declarationsIn(context.state.slice<PgDataSlice>(PGDATA_SLICE, () => ({ servers: [] }))).map(
            (s) => ({ serverId: s.serverId, databases: s.databases }),
          ),
        };
      case "PUT /servers": {
        const b = body();
        return {
          status: 200,
          body: control.setServerDatabases(b.serverId as string, b.databases as DatabaseDeclaration[]),
        };
      }
      case "POST /servers/empty-table": {
        const b = body();
        return {
          status: 200,
          body: control.emptyTable(b.serverId as string, b.database as string, b.table as string),
        };
      }
      default:
        return armError(404, "NotFound", `No control endpoint '${route}' under /_emulator/pgdata.`);
    }
  } catch (error) {
    if (error instanceof PgDataControlError)
      return armError(
        error.status,
        error.status === 404 ? "NotFound" : error.status === 409 ? "Conflict" : "InvalidRequest",
        error.message,
      );
    throw error;
  }
}
