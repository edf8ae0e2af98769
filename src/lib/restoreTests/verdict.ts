/**
 * The verdict of a restore test, a pure decision over what the inspection found: `Failed` when the restore or
 * an archive is unusable (with the reason and what to do), `Suspicious` when the data shrank against the
 * server's previous passed test, else `Passed`.
 */
import type { RestoredDatabase, RestoreTestFinding, RestoreTestOutcome } from "./model.js";

/** The files every restore as files writes besides the database archives. */
export const SERVER_FILES = ["roles.sql", "schema.sql", "tablespaces.sql"] as const;

export interface VerdictInput {
  /** The restore's own failure, when its job did not complete. */
  restoreError?: { code: string; message: string };
  databases: readonly RestoredDatabase[];
  missingFiles: readonly string[];
  /** The databases of the server's previous passed test, when there is one. */
  previous?: readonly RestoredDatabase[];
  /** PGFLEX_RESTORE_TEST_DROP_PERCENT. */
  dropPercent: number;
  /** For the fix: how to run the test again. */
  serverName: string;
  recoveryPointId?: string;
}

export interface Verdict {
  outcome: Exclude<RestoreTestOutcome, "Running">;
  findings: RestoreTestFinding[];
  reason?: string;
  fix?: string;
}

const again = (serverName: string) =>
  `Run the test again (POST /api/restoreTests {"serverId": …} or CLI: restore-test ${serverName} --wait)`;

export function judge(input: VerdictInput): Verdict {
  const point = input.recoveryPointId ? `recovery point ${input.recoveryPointId}` : "the recovery point";
  if (input.restoreError) {
    return {
      outcome: "Failed",
      findings: [],
      reason: `The restore of ${point} failed: ${input.restoreError.code}: ${input.restoreError.message}`,
      fix: `Read the restore's error and fix what it names (GET /api/restores/… shows it), then ${again(input.serverName).replace(/^Run/, "run")}. Until a test passes, this server's backups are not proven restorable.`,
    };
  }
  if (input.databases.length === 0) {
    return {
      outcome: "Failed",
      findings: [],
      reason: `The restore of ${point} completed but wrote no database archive.`,
      fix: `Check the restore container for <guid>_database_<db>.sql blobs; ${again(input.serverName).replace(/^Run/, "run")}. If none appear again, open a support case with Azure Backup naming ${point}.`,
    };
  }
  const broken = input.databases.filter((d) => d.error);
  if (broken.length) {
    return {
      outcome: "Failed",
      findings: [],
      reason: broken
        .map((d) => `The archive of database ${d.database} (${d.blobName}) is unreadable: ${d.error}`)
        .join("; "),
      fix: `${again(input.serverName)}; if the archive is unreadable again, the backup cannot be restored: take a new backup (POST /api/servers/…/backups) and open a support case with Azure Backup naming ${point}. Inspect the file yourself with the CLI: inspect <blob URL>.`,
    };
  }
  if (input.missingFiles.length) {
    return {
      outcome: "Failed",
      findings: [],
      reason: `The restore of ${point} did not write ${input.missingFiles.join(", ")}: the server's roles and schema could not be rebuilt from it.`,
      fix: `${again(input.serverName)}; if the files are missing again, open a support case with Azure Backup naming ${point}.`,
    };
  }
  const findings = input.previous ? compare(input.previous, input.databases, input.dropPercent) : [];
  return findings.length ? { outcome: "Suspicious", findings } : { outcome: "Passed", findings };
}

/** What disappeared or shrank since the previous passed test. */
export function compare(
  previous: readonly RestoredDatabase[],
  current: readonly RestoredDatabase[],
  dropPercent: number,
): RestoreTestFinding[] {
  const findings: RestoreTestFinding[] = [];
  for (const before of previous) {
    if (before.error) continue;
    const now = current.find((d) => d.database === before.database);
    if (!now) {
      findings.push({
        kind: "DatabaseMissing",
        database: before.database,
        message: `Database ${before.database} was in the previous passed test and is not in this restore.`,
      });
      continue;
    }
    for (const table of before.tables) {
      const after = now.tables.find((t) => t.name === table.name);
      if (!after) {
        findings.push({
          kind: "TableMissing",
          database: before.database,
          table: table.name,
          message: `Table ${table.name} of database ${before.database} was in the previous passed test and is not in this restore.`,
        });
        continue;
      }
      if (table.rows === undefined || after.rows === undefined || table.rows === 0) continue;
      const dropped = ((table.rows - after.rows) / table.rows) * 100;
      if (dropped > dropPercent) {
        findings.push({
          kind: "RowsDropped",
          database: before.database,
          table: table.name,
          previousRows: table.rows,
          rows: after.rows,
          message: `Table ${table.name} of database ${before.database} has ${after.rows} rows, ${Math.round(dropped)}% fewer than the ${table.rows} of the previous passed test (more than PGFLEX_RESTORE_TEST_DROP_PERCENT=${dropPercent}).`,
        });
      }
    }
  }
  return findings;
}
