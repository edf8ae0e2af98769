/**
 * Servers Azure Backup cannot protect (support matrix for PostgreSQL Flexible Server): read replicas, and
 * servers over 1 TB, whose backups fail. Pure rules shared by the protection worker and the sweep.
 */

/** Largest server (`properties.storage.storageSizeGB`) Azure Backup backs up: 1 TB. */
export const MAX_BACKUP_STORAGE_GB = 1024;

/** Replication roles of a server Azure Backup protects (`None`, `Primary`); any other is a replica. */
const PRIMARY_ROLES = new Set(["none", "primary"]);

/** What ARM says about a server that decides whether Azure Backup supports it (either may be unknown). */
export interface BackupSupportFacts {
  /** `properties.replicationRole`: None, Primary, AsyncReplica, GeoAsyncReplica. */
  replicationRole?: string;
  /** `properties.storage.storageSizeGB`. */
  storageSizeGB?: number;
}

export type Unsupported =
  { kind: "replica"; replicationRole: string } | { kind: "tooLarge"; storageSizeGB: number };

/** Why Azure Backup cannot protect the server, or undefined when it can (or ARM did not say). */
export function unsupportedForBackup(facts: BackupSupportFacts): Unsupported | undefined {
  const role = facts.replicationRole;
  if (role && !PRIMARY_ROLES.has(role.toLowerCase())) return { kind: "replica", replicationRole: role };
  const size = facts.storageSizeGB;
  if (typeof size === "number" && size > MAX_BACKUP_STORAGE_GB)
    return { kind: "tooLarge", storageSizeGB: size };
  return undefined;
}

/** The reason and the fix a person reads, for the worker's row and the sweep's class alike. */
export function unsupportedGuidance(
  serverName: string,
  why: Unsupported,
  tagRules: { backupTag: string; optOutValues: readonly string[] },
): { code: string; reason: string; fix: string } {
  const optOut = tagRules.optOutValues[0];
  const optOutHint = optOut
    ? `set its ${tagRules.backupTag} tag to ${optOut}`
    : `remove its ${tagRules.backupTag} tag`;
  if (why.kind === "replica") {
    return {
      code: "ReadReplicaNotSupported",
      reason: `${serverName} is a read replica (replicationRole ${why.replicationRole}); Azure Backup protects primary servers only.`,
      fix: `Protect its primary server instead (tag the primary), and ${optOutHint} on the replica so nothing is owed.`,
    };
  }
  return {
    code: "ServerTooLargeForBackup",
    reason: `${serverName} has ${why.storageSizeGB} GB of storage; Azure Backup protects servers up to 1 TB (${MAX_BACKUP_STORAGE_GB} GB), and backups of larger servers fail.`,
    fix: `Keep it with the server's own point-in-time backups (up to 35 days) or an export of your own, and ${optOutHint} so nothing is owed.`,
  };
}
