import { GUID_PATTERN, isGuid } from "../domain/guid.js";

const JOB_ID = new RegExp(
  `^/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/microsoft\\.dataprotection/backupvaults/([^/]+)/backupjobs/(${GUID_PATTERN})$`,
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
  const v = value.trim();
  if (isGuid(v)) return { jobId: v.toLowerCase() };
  const m = JOB_ID.exec(v);
  if (!m) return undefined;
  return {
    jobId: (m[4] ?? "").toLowerCase(),
    vaultId:
      `/subscriptions/${m[1]}/resourceGroups/${m[2]}/providers/Microsoft.DataProtection/backupVaults/${m[3]}`.toLowerCase(),
  };
}
