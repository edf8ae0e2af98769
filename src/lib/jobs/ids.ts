const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JOB_ID =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.dataprotection\/backupvaults\/([^/]+)\/backupjobs\/([0-9a-f-]{36})$/i;

export interface ParsedJobId {
  /** Lower-cased GUID. */
  jobId: string;
  /** Lower-cased vault id when the input was a full job id. */
  vaultId?: string;
}

/**
 * Accepts a bare job GUID or a full job resource id in any casing (the service mixes `BackupVaults`,
 * `Backupvaults`, `resourcegroups`); undefined for anything else.
 */
export function parseJobId(value: string): ParsedJobId | undefined {
  const trimmed = value.trim();
  if (GUID.test(trimmed)) return { jobId: trimmed.toLowerCase() };
  const parts = JOB_ID.exec(trimmed);
  if (!parts || !GUID.test(parts[4] ?? "")) return undefined;
  const [, subscriptionId, resourceGroup, vaultName, jobId] = parts;
  return {
    jobId: (jobId ?? "").toLowerCase(),
    vaultId:
      `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.DataProtection/backupVaults/${vaultName}`.toLowerCase(),
  };
}
