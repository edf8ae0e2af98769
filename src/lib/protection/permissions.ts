/** The vault identity's roles on the server: which are missing, granting them, waiting for propagation. */
import { roleGuidOf, scopeCovers } from "../azure/roles.js";
import { statusOf } from "./armErrors.js";
import type { RequiredRole } from "./decide.js";
import { requiredRoles } from "./decide.js";
import {
  grantDenied,
  missingRolesMessage,
  rolesGranted,
  rolesMissing,
  rolesPropagating,
  rolesStillMissing,
} from "./guidance.js";
import type { FlexibleServerInfo, VaultInfo } from "./ports.js";
import type { Run, StepOutcome } from "./run.js";
import { nextBackoffInMs, requeue, settle } from "./transitions.js";

/** The required roles `principalId` does not hold (at the scope or above). */
export async function missingRoles(run: Run, serverId: string, principalId: string): Promise<RequiredRole[]> {
  const held: Array<{ guid: string; scope: string }> = [];
  for await (const a of run.ctx.arm.roles.listForPrincipal(serverId, principalId, {
    abortSignal: run.signal,
  })) {
    held.push({ guid: a.roleDefinitionGuid || roleGuidOf(a.id), scope: a.scope });
  }
  return requiredRoles(serverId).filter(
    (r) => !held.some((h) => h.guid === r.roleDefinitionGuid && scopeCovers(h.scope, r.scope)),
  );
}

/** Grants each role, returning those this app was not permitted (403) to grant. */
async function grant(
  run: Run,
  serverId: string,
  principalId: string,
  roles: readonly RequiredRole[],
): Promise<RequiredRole[]> {
  const denied: RequiredRole[] = [];
  for (const role of roles) {
    try {
      await run.ctx.arm.roles.createAssignment(role.scope, role.roleDefinitionGuid, principalId, {
        abortSignal: run.signal,
      });
      await run.audit("grantRole", role.scope, serverId, `${role.roleName} to ${principalId}`);
    } catch (e) {
      if (statusOf(e) !== 403) throw e;
      denied.push(role);
    }
  }
  return denied;
}

/**
 * Validation said permissions are missing: read the vault identity's roles; grant the missing ones when
 * allowed, else stop with the exact commands. Nothing missing means RBAC is still propagating: retry until
 * `rbacPropagationInMs` has passed.
 */
export async function fixPermissions(
  run: Run,
  server: FlexibleServerInfo,
  vault: VaultInfo,
  failure: { code: string; message: string; step: string },
): Promise<StepOutcome> {
  const s = run.settings;
  const principalId = vault.principalId ?? "";
  const serverId = server.id.toLowerCase();
  const missing = await missingRoles(run, serverId, principalId);
  if (missing.length > 0) {
    if (!s.autoGrantRoles)
      return settle(run, "MissingPermissions", rolesMissing(vault.name, principalId, missing));
    const denied = await grant(run, serverId, principalId, missing);
    if (denied.length > 0)
      return settle(run, "MissingPermissions", grantDenied(vault.name, principalId, denied));
    // Freshly granted roles take a while to propagate; validation retries meanwhile.
    return requeue(
      run,
      "Validating",
      { waitingSince: run.nowIso(), lastErrorCode: failure.code, lastErrorMessage: rolesGranted(missing) },
      nextBackoffInMs(run),
    );
  }
  const since = run.row.waitingSince ?? run.nowIso();
  if (run.ctx.now().getTime() - Date.parse(since) < s.rbacPropagationInMs) {
    return requeue(
      run,
      "Validating",
      {
        waitingSince: since,
        lastErrorCode: failure.code,
        lastErrorMessage: rolesPropagating(failure.step, failure.message),
      },
      nextBackoffInMs(run),
    );
  }
  const grants = missingRolesMessage(vault.name, principalId, requiredRoles(serverId)).fix;
  return settle(
    run,
    "MissingPermissions",
    rolesStillMissing(failure.code, failure.step, failure.message, s.rbacPropagationInMs, grants),
  );
}
