import { GUID_PATTERN, isGuid } from "../domain/guid.js";

const JOB_ID = new RegExp(
  `^/subscriptions/(${GUID_PATTERN})/resourcegroups/([-\\w.()]{1,90})/providers/microsoft\\.dataprotection/backupvaults/([^/]+)/backupjobs/(${GUID_PATTERN})$`,
  "i",
);

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
  if (isGuid(trimmed)) return { jobId: trimmed.toLowerCase() };
  const parts = JOB_ID.exec(trimmed);
  if (!parts) return undefined;
  const [, subscriptionId, resourceGroup, vaultName, jobId] = parts;
  return {
    jobId: (jobId ?? "").toLowerCase(),
    vaultId:
      `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.DataProtection/backupVaults/${vaultName}`.toLowerCase(),
  };
}
