import { randomUUID } from "node:crypto";
import type { ArmClients } from "./clients.js";
import { isRestError } from "../errors.js";
import type { OperationOptions } from "../util/options.js";

/** Built-in role ids the vault identity needs to protect a PostgreSQL Flexible Server. */
export const BackupRoles = {
  reader: { id: "acdd72a7-3385-48ef-bd42-f606fba81ae7", name: "Reader" },
  longTermRetention: {
    id: "c088a766-074b-43ba-90d4-1fb21feae531",
    name: "PostgreSQL Flexible Server Long Term Retention Backup Role",
  },
} as const;

export interface RoleAssignmentInfo {
  id: string;
  scope: string;
  /** Bare role definition GUID, lower-case. */
  roleDefinitionGuid: string;
  principalId: string;
}

export type RolesOptions = OperationOptions;

export interface RolesClient {
  /** Assignments of `principalId` at, above or below `scope` (one paged read). */
  listForPrincipal(
    scope: string,
    principalId: string,
    options?: RolesOptions,
  ): AsyncIterableIterator<RoleAssignmentInfo>;
  /**
   * Assigns `roleDefinitionGuid` to the service principal at `scope`. 409 RoleAssignmentExists is success.
   * A 403 is rethrown (the caller turns it into a fix-it message).
   */
  createAssignment(
    scope: string,
    roleDefinitionGuid: string,
    principalId: string,
    options?: RolesOptions,
  ): Promise<void>;
}

function subscriptionOf(scope: string): string {
  const sub = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
  if (!sub) throw new TypeError(`"${scope}" is not a subscription-scoped id.`);
  return sub.toLowerCase();
}

/** Lower-case GUID at the end of a role definition id (full or shortened form). */
export function roleGuidOf(roleDefinitionId: string): string {
  return (roleDefinitionId.split("/").pop() ?? "").toLowerCase();
}

/** True when `scope` is `target` or one of its parents (ids compare case-insensitively). */
export function scopeCovers(scope: string, target: string): boolean {
  const s = scope.toLowerCase().replace(/\/+$/, "");
  const t = target.toLowerCase();
  return s === "" || t === s || t.startsWith(`${s}/`);
}

/** Role assignments through `@azure/arm-authorization`, from the shared ARM client factory. */
export function createRolesClient(clients: Pick<ArmClients, "authorization">): RolesClient {
  const clientFor = (subscriptionId: string) => clients.authorization(subscriptionId);
  return {
    async *listForPrincipal(scope, principalId, opts = {}) {
      const client = await clientFor(subscriptionOf(scope));
      for await (const a of client.roleAssignments.listForScope(scope, {
        filter: `principalId eq '${principalId}'`,
        abortSignal: opts.abortSignal,
      })) {
        // Filter here too: not every endpoint honours $filter.
        if (!a.principalId || a.principalId.toLowerCase() !== principalId.toLowerCase()) continue;
        yield {
          id: a.id ?? "",
          scope: a.scope ?? "",
          roleDefinitionGuid: roleGuidOf(a.roleDefinitionId ?? ""),
          principalId: a.principalId,
        };
      }
    },
    async createAssignment(scope, roleDefinitionGuid, principalId, opts = {}) {
      const sub = subscriptionOf(scope);
      const client = await clientFor(sub);
      try {
        await client.roleAssignments.create(
          scope,
          randomUUID(),
          {
            roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleDefinitionGuid}`,
            principalId,
            principalType: "ServicePrincipal",
            description: "Granted by pgflex-autoprotect for Azure Backup of PostgreSQL Flexible Server",
          },
          { abortSignal: opts.abortSignal },
        );
      } catch (e) {
        if (isRestError(e) && e.statusCode === 409 && e.code === "RoleAssignmentExists") return;
        throw e;
      }
    },
  };
}
