import type { EmulatorClock, RoleAssignmentRecord, RoleChecker } from "./provider.js";
import { isScopeAncestorOrSelf } from "./ids.js";

/** Built-in role definitions the product deals with (GUIDs are the same in every tenant). */
export const BUILT_IN_ROLES: Readonly<Record<string, { roleName: string; description: string }>> = {
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": {
    roleName: "Owner",
    description:
      "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
  },
  "b24988ac-6180-42a0-ab88-20f7382dd24c": {
    roleName: "Contributor",
    description:
      "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
  },
  "acdd72a7-3385-48ef-bd42-f606fba81ae7": {
    roleName: "Reader",
    description: "View all resources, but does not allow you to make any changes.",
  },
  "c088a766-074b-43ba-90d4-1fb21feae531": {
    roleName: "PostgreSQL Flexible Server Long Term Retention Backup Role",
    description:
      "Role to allow backup vault to access PostgreSQL Flexible Server Resource APIs for Long Term Retention Backup.",
  },
  "5e467623-bb1f-42f4-a55d-6e525e11384b": {
    roleName: "Backup Contributor",
    description: "Lets you manage backup service, but can't create vaults and give access to others",
  },
  "a795c7a0-d4a2-40c1-ae25-d81f01202912": {
    roleName: "Backup Reader",
    description: "Can view backup services, but can't make changes",
  },
  "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": {
    roleName: "User Access Administrator",
    description: "Lets you manage user access to Azure resources.",
  },
  "f58310d9-a9f6-439a-9e8d-f62e7b41a168": {
    roleName: "Role Based Access Control Administrator",
    description:
      "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
  },
  "ba92f5b4-2d11-453d-a403-e96b0029c9fe": {
    roleName: "Storage Blob Data Contributor",
    description: "Allows for read, write and delete access to Azure Storage blob containers and data",
  },
  "00c29273-979b-4161-815c-10b084fb9324": {
    roleName: "Backup Operator",
    description:
      "Lets you manage backup services, except removal of backup, vault creation and giving access to others",
  },
};

/** Roles that may write role assignments. */
export const ROLE_WRITERS = [
  "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
];

export function roleGuidOf(roleDefinitionId: string): string {
  return (roleDefinitionId.split("/").pop() ?? "").toLowerCase();
}

export function createRoleChecker(
  assignments: () => Iterable<RoleAssignmentRecord>,
  clock: EmulatorClock,
): RoleChecker {
  return {
    hasRole(principalId, roleDefinitionGuid, scope) {
      const principal = principalId.toLowerCase();
      const role = roleGuidOf(roleDefinitionGuid);
      const now = clock.now();
      for (const assignment of assignments()) {
        if (assignment.principalId.toLowerCase() !== principal) continue;
        if (roleGuidOf(assignment.roleDefinitionId) !== role) continue;
        if ((assignment.effectiveFromMs ?? 0) > now) continue;
        if (isScopeAncestorOrSelf(assignment.scope, scope)) return true;
      }
      return false;
    },
  };
}
