/** The fix-it texts of restores: the exact commands and settings a person runs or changes. */
import type { StorageTargetId } from "../azure/storage.js";

/** The role the vault identity needs on the target (account or container). */
export const STORAGE_BLOB_DATA_CONTRIBUTOR = {
  id: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  name: "Storage Blob Data Contributor",
} as const;

export function grantBlobRoleCommand(principalId: string, containerId: string): string {
  return `az role assignment create --assignee-object-id ${principalId} --assignee-principal-type ServicePrincipal --role "${STORAGE_BLOB_DATA_CONTRIBUTOR.name}" --scope ${containerId}`;
}

export function accountSettingsFix(
  target: Pick<StorageTargetId, "accountName" | "resourceGroupName" | "subscriptionId">,
): string {
  return `Run: az storage account update --name ${target.accountName} --resource-group ${target.resourceGroupName} --subscription ${target.subscriptionId} --allow-cross-tenant-replication true --public-network-access Enabled, then retry.`;
}

export function containerIdFix(accountId?: string): string {
  const account =
    accountId ??
    "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>";
  return `Give the container's id: ${account}/blobServices/default/containers/<container>.`;
}

export function allowListFix(containerId: string, allowed: readonly string[]): string {
  return allowed.length === 0
    ? `No restore target is allowed yet: add the container (or its account) to PGFLEX_RESTORE_TARGETS, e.g. PGFLEX_RESTORE_TARGETS=${containerId}.`
    : `Restore to one of PGFLEX_RESTORE_TARGETS (${allowed.join(", ")}), or add ${containerId} to it.`;
}
