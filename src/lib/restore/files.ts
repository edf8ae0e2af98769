/**
 * What a restore as files wrote, found by name pattern (never by prefix or count: the service ignores the
 * prefix, and a container may hold other restores), and the commands that rebuild a server from it.
 */
import type { BlobInfo } from "../azure/storage.js";
import type { RestoreFile } from "../store/restores.js";

const GUID = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}";
const patterns: Array<{ kind: RestoreFile["kind"]; regex: RegExp }> = [
  { kind: "database", regex: new RegExp(`^(${GUID})_database_(.+)\\.sql$`) },
  { kind: "roles", regex: new RegExp(`^(${GUID})_roles\\.sql$`) },
  { kind: "schema", regex: new RegExp(`^(${GUID})_schema\\.sql$`) },
  { kind: "tablespaces", regex: new RegExp(`^(${GUID})_tablespaces\\.sql$`) },
  { kind: "timestamp", regex: new RegExp(`^(?:(${GUID})_)?backupstarttimestamp(?:\\.\\w+)?$`) },
];

/** A blob a restore writes, with the GUID of the restore that wrote it (absent for a bare timestamp blob). */
export function classifyBlob(name: string): (RestoreFile & { restoreGuid?: string }) | undefined {
  for (const { kind, regex } of patterns) {
    const m = regex.exec(name);
    if (!m) continue;
    return {
      name,
      sizeInBytes: 0,
      kind,
      ...(m[1] ? { restoreGuid: m[1].toLowerCase() } : {}),
      ...(kind === "database" && m[2] ? { database: m[2] } : {}),
    };
  }
  return undefined;
}

/** Clock skew allowed between this app and Storage when deciding which blobs are new. */
const SKEW_IN_MS = 5 * 60_000;

/**
 * The files of the restore that started at `startedAt`: blobs matching the restore patterns, created since
 * then, of one restore GUID: the earliest first written at or after the start, else (clock skew) the latest
 * first written in the few minutes before it. An earlier restore into the same container minutes before is
 * never taken for this one.
 */
export function restoredFiles(blobs: readonly BlobInfo[], startedAt: Date): RestoreFile[] {
  const since = startedAt.getTime() - SKEW_IN_MS;
  const fresh = blobs
    .filter((b) => !b.createdOn || Date.parse(b.createdOn) >= since)
    .flatMap((b) => {
      const c = classifyBlob(b.name);
      return c ? [{ ...c, sizeInBytes: b.sizeInBytes, createdAt: b.createdOn ?? "" }] : [];
    });
  const firstByGuid = new Map<string, string>();
  for (const f of fresh) {
    if (!f.restoreGuid) continue;
    const seen = firstByGuid.get(f.restoreGuid);
    if (seen === undefined || f.createdAt < seen) firstByGuid.set(f.restoreGuid, f.createdAt);
  }
  const ordered = [...firstByGuid.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  const guid = (ordered.find(([, at]) => Date.parse(at) >= startedAt.getTime()) ?? ordered.at(-1))?.[0];
  if (!guid) return [];
  return fresh
    .filter((f) => f.restoreGuid === guid || (!f.restoreGuid && f.kind === "timestamp"))
    .map(({ name, sizeInBytes, kind, database }) => ({
      name,
      sizeInBytes,
      kind,
      ...(database ? { database } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Databases Azure creates on every server: their files are near-empty and are not restored. */
const SYSTEM_DATABASES = new Set(["postgres", "template0", "template1", "azure_sys", "azure_maintenance"]);

/** Azure's reserved roles, which another server already has (or refuses). */
const RESERVED_ROLES = ["azure_superuser", "azure_pg_admin", "azuresu", "replication", "localadmin"];

export interface RebuildTarget {
  /** The container's storage account name and container name. */
  accountName: string;
  containerName: string;
}

function download(target: RebuildTarget, blob: string): string {
  return `az storage blob download --auth-mode login --account-name ${target.accountName} --container-name ${target.containerName} --name "${blob}" --file /dev/stdout --no-progress --output none`;
}

/**
 * The commands that rebuild the server from the files, in order: connect to a new server (the caller fills in
 * its name and admin), recreate the roles without Azure's reserved ones, then per database `CREATE DATABASE`
 * and `pg_restore --no-owner` straight from the blob.
 */
export function rebuildCommands(files: readonly RestoreFile[], target: RebuildTarget): string[] {
  const commands = [
    "# Create the new server (az postgres flexible-server create …) and allow-list the extensions the schema file uses (azure.extensions), then:",
    "export PGHOST=<new-server>.postgres.database.azure.com PGUSER=<admin-user> PGSSLMODE=require",
  ];
  const roles = files.find((f) => f.kind === "roles");
  if (roles) {
    const drop = RESERVED_ROLES.join("|");
    commands.push(
      `${download(target, roles.name)} | grep -Evw '${drop}' | sed -E 's/ NOSUPERUSER| NOBYPASSRLS| NOREPLICATION//g' | psql --dbname postgres`,
    );
  }
  for (const f of files) {
    if (f.kind !== "database" || !f.database || SYSTEM_DATABASES.has(f.database)) continue;
    const db = f.database.replace(/"/g, '""');
    commands.push(`psql --dbname postgres --command 'CREATE DATABASE "${db.replace(/'/g, "'\\''")}"'`);
    commands.push(
      `${download(target, f.name)} | pg_restore --no-owner --no-privileges --dbname '${f.database.replace(/'/g, "'\\''")}'`,
    );
  }
  return commands;
}
