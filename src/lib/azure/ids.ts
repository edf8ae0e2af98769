/** Parsing and building of the ARM resource ids this app handles. Ids compare case-insensitively in ARM. */

import { isGuid } from "../domain/guid.js";

export interface VaultRef {
  subscriptionId: string;
  resourceGroupName: string;
  vaultName: string;
}

/** Reads `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.DataProtection/backupVaults/{v}[/...]`. */
export function parseVaultId(id: string): VaultRef {
  const m =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DataProtection\/backupVaults\/([^/]+)/i.exec(
      id,
    );
  if (!m || !m[1] || !m[2] || !m[3]) throw new TypeError(`"${id}" is not a Backup vault resource id.`);
  return { subscriptionId: m[1], resourceGroupName: m[2], vaultName: m[3] };
}

export function vaultId(ref: VaultRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroupName}/providers/Microsoft.DataProtection/backupVaults/${ref.vaultName}`;
}

export function backupJobId(ref: VaultRef, jobGuid: string): string {
  return `${vaultId(ref)}/backupJobs/${jobGuid}`;
}

/**
 * The service answers an ad hoc backup's `jobId` as a full ARM id (with its own casing, e.g.
 * `resourcegroups`, `BackupVaults`) or as a bare GUID. Returns the GUID (lower-case) either way.
 */
export function normalizeJobId(jobId: string): string {
  const last = jobId.trim().replace(/\/+$/, "").split("/").pop() ?? "";
  if (!isGuid(last)) throw new TypeError(`"${jobId}" is neither a backup job id nor a job GUID.`);
  return last.toLowerCase();
}
