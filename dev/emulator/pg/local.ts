import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { freePort } from "../../net.js";

/**
 * One local PostgreSQL for the emulator: its own data folder in the temp directory, loopback only, a free
 * port, trust authentication, killed on {@link LocalPostgres.stop} and with this process. PostgreSQL refuses
 * to run as root, so as root (CI, containers) the server runs as the `postgres` user (or `nobody`) through
 * `setpriv`; clients (psql, pg_dump) connect over TCP as the `postgres` role.
 */

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  psql: string;
  pgDump: string;
  pgDumpall: string;
  /** Absent on some client-only installs; only tests use it. */
  pgRestore?: string;
  /** `pg_dump (PostgreSQL) 15.18 …` */
  pgDumpVersion: string;
}

const TOOLS = ["initdb", "postgres", "psql", "pg_dump", "pg_dumpall", "pg_restore"] as const;

function candidateDirs(): string[] {
  const dirs: string[] = [];
  const fromEnv = process.env.PGFLEX_PG_BIN;
  if (fromEnv) dirs.push(fromEnv);
  // The server's own folder first, so client tools match its version (Debian's /usr/bin ones are wrappers).
  for (const d of ["/usr/local/bin", ...(process.env.PATH ?? "").split(delimiter)]) {
    const postgres = join(d, "postgres");
    if (d && existsSync(postgres)) dirs.push(dirname(realpathSync(postgres)), d);
  }
  for (const d of (process.env.PATH ?? "").split(delimiter)) if (d) dirs.push(d);
  for (const v of ["17", "16", "15", "14"]) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  return [...new Set(dirs)];
}

let found: PostgresBinaries | null | undefined;

/** The PostgreSQL binaries of this machine, or undefined when any of initdb, postgres, psql, pg_dump, pg_dumpall is missing. */
export function findPostgresBinaries(): PostgresBinaries | undefined {
  if (found !== undefined) return found ?? undefined;
  const dirs = candidateDirs();
  const path = (tool: string): string | undefined =>
    dirs.map((d) => join(d, tool)).find((p) => existsSync(p));
  const [initdb, postgres, psql, pgDump, pgDumpall, pgRestore] = TOOLS.map(path);
  if (!initdb || !postgres || !psql || !pgDump || !pgDumpall) {
    found = null;
    return undefined;
  }
  const version = runSync(pgDump, ["--version"]);
  found = {
    initdb,
    postgres,
    psql,
    pgDump,
    pgDumpall,
    ...(pgRestore ? { pgRestore } : {}),
    pgDumpVersion: version.trim(),
  };
  return found;
}

function runSync(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: "utf8" });
  } catch {
    return "unknown";
  }
}

export function run(
  file: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutInMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        timeout: options.timeoutInMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** uid/gid of a local user from /etc/passwd. */
function userIds(name: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [user, , uid, gid] = line.split(":");
      if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // No /etc/passwd: not a Unix we can drop privileges on.
  }
  return undefined;
}

export interface LocalPostgres {
  readonly port: number;
  readonly binaries: PostgresBinaries;
  /** Working folder (data folder, socket, archives); removed on stop. */
  readonly dir: string;
  /** Runs SQL in `database` (stops at the first error). */
  sql(database: string, sql: string): Promise<string>;
  /** `pg_dump -Fc` of `database` into `file`. */
  dumpDatabase(database: string, file: string): Promise<void>;
  /** `pg_dumpall --roles-only | --schema-only | --tablespaces-only` (plain SQL). */
  dumpGlobals(kind: "roles" | "schema" | "tablespaces"): Promise<string>;
  stop(): Promise<void>;
}

/** Roles an Azure Database for PostgreSQL server has, so `roles.sql` shows what the rebuild must strip. */
const AZURE_ROLES_SQL = [
  "CREATE ROLE azure_pg_admin NOLOGIN;",
  "CREATE ROLE azuresu SUPERUSER NOLOGIN;",
  "CREATE ROLE azure_superuser NOLOGIN;",
  "CREATE ROLE replication REPLICATION NOLOGIN;",
].join("\n");

export async function startLocalPostgres(binaries: PostgresBinaries): Promise<LocalPostgres> {
  const dir = await mkdtemp(join(tmpdir(), "pgflex-emulator-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? (userIds("postgres") ?? userIds("nobody")) : undefined;
  if (asRoot && !owner)
    throw new Error("Running as root and no 'postgres' or 'nobody' user to run PostgreSQL as.");
  if (owner) await chown(dir, owner.uid, owner.gid);
  const as = (file: string, args: string[]): [string, string[]] =>
    owner
      ? ["setpriv", [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, "--clear-groups", "--", file, ...args]]
      : [file, args];

  let child: ChildProcess | undefined;
  const kill = (): void => {
    child?.kill("SIGKILL");
  };
  try {
    await run(
      ...as(binaries.initdb, [
        "-D",
        data,
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
      ]),
    );
    const port = await freePort();
    const [cmd, args] = as(binaries.postgres, [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=20",
    ]);
    child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr = (stderr + c.toString("utf8")).slice(-2000)));
    process.once("exit", kill);
    const exited = new Promise<void>((resolve) => child?.once("exit", () => resolve()));
    const client = ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"];
    const env = { ...process.env, PGCONNECT_TIMEOUT: "5" };
    for (let i = 0; ; i++) {
      try {
        await run(binaries.psql, [...client, "-d", "postgres", "-Atc", "select 1"], { env });
        break;
      } catch (error) {
        if (child.exitCode !== null || i >= 200)
          throw new Error(`PostgreSQL did not start: ${stderr.trim() || String(error)}`, {
            cause: error,
          });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const sql = (database: string, text: string): Promise<string> =>
      run(binaries.psql, [...client, "-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"], {
        input: text,
        env,
      });
    await sql("postgres", AZURE_ROLES_SQL);
    await mkdir(join(dir, "archives"), { recursive: true });
    let stopping: Promise<void> | undefined;
    const running = child;
    return {
      port,
      binaries,
      dir,
      sql,
      async dumpDatabase(database, file) {
        await run(binaries.pgDump, [...client, "-Fc", "-d", database, "-f", file], { env });
      },
      dumpGlobals: (kind) => run(binaries.pgDumpall, [...client, `--${kind}-only`], { env }),
      stop() {
        stopping ??= (async () => {
          if (running.exitCode === null) {
            running.kill("SIGINT");
            const timer = setTimeout(() => running.kill("SIGKILL"), 5_000);
            await exited;
            clearTimeout(timer);
          }
          process.removeListener("exit", kill);
          await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  } catch (error) {
    kill();
    process.removeListener("exit", kill);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}
