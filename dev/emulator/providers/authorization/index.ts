import type {
  EmulatorProvider,
  EmulatorRequest,
  EmulatorResponse,
  ProviderContext,
  RoleAssignmentRecord,
} from "../../core/provider.js";
import { isGuid, isScopeAncestorOrSelf, lower, normalizeScope, parseResourceId } from "../../core/ids.js";
import { BUILT_IN_ROLES, ROLE_WRITERS, roleGuidOf } from "../../core/rbac.js";
import { EMULATOR_ADMIN_PRINCIPAL_ID } from "../../core/server.js";
import { roleDefinitionIdFor } from "../../core/state.js";
import { isObject } from "../../core/json.js";
import { routeBuilder } from "../routes.js";

export const ROLE_ASSIGNMENT_API_VERSIONS = [
  "2022-04-01",
  "2020-10-01-preview",
  "2020-04-01-preview",
  "2020-10-01",
];
export const ROLE_DEFINITION_API_VERSIONS = [
  "2022-04-01",
  "2022-05-01-preview",
  "2018-01-01-preview",
  "2015-07-01",
];
const assignmentRoute = routeBuilder(ROLE_ASSIGNMENT_API_VERSIONS);
const definitionRoute = routeBuilder(ROLE_DEFINITION_API_VERSIONS);
const ASSIGNMENT_PATH = "{*scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}";
const ASSIGNMENTS_PATH = "{*scope}/providers/Microsoft.Authorization/roleAssignments";
const PRINCIPAL_TYPES = ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"];

function toResource(assignment: RoleAssignmentRecord): Record<string, unknown> {
  return {
    properties: {
      roleDefinitionId: assignment.roleDefinitionId,
      principalId: assignment.principalId,
      principalType: assignment.principalType,
      scope: assignment.scope,
      condition: null,
      conditionVersion: null,
      createdOn: assignment.createdOn,
      updatedOn: assignment.createdOn,
      createdBy: null,
      updatedBy: null,
      delegatedManagedIdentityResourceId: null,
      description: null,
    },
    id: assignment.id,
    type: "Microsoft.Authorization/roleAssignments",
    name: assignment.name,
  };
}

interface AssignmentFilter {
  atScope: boolean;
  principalId?: string;
  /** Unparseable filter text. */
  invalid?: string;
}

/** The `$filter` forms ARM accepts for role assignments: `atScope()`, `principalId eq '…'`, `assignedTo('…')`. */
export function parseAssignmentFilter(filter: string | undefined): AssignmentFilter {
  const result: AssignmentFilter = { atScope: false };
  if (!filter || filter.trim() === "") return result;
  for (const clause of filter.split(/\s+and\s+/iu)) {
    const text = clause.trim();
    const principal = /^principalId\s+eq\s+'([^']*)'$/iu.exec(text);
    const assigned = /^assignedTo\('([^']*)'\)$/iu.exec(text);
    if (/^atScope\(\)$/iu.test(text)) result.atScope = true;
    else if (principal) result.principalId = principal[1];
    else if (assigned) result.principalId = assigned[1];
    else result.invalid = text;
  }
  return result;
}

function scopeProblem(context: ProviderContext, scope: string): EmulatorResponse | undefined {
  const parsed = parseResourceId(scope);
  if (parsed.subscriptionId && !isGuid(parsed.subscriptionId)) {
    return context.respond.error(
      400,
      "InvalidSubscriptionId",
      `The provided subscription identifier '${parsed.subscriptionId}' is malformed or invalid.`,
    );
  }
  return undefined;
}

/** The provider's state slice (seed key `providers.authorization`): custom roles beside the built-in ones. */
export interface AuthorizationSlice {
  customRoleDefinitions: Record<string, { roleName: string; description?: string }>;
}

const slice = (context: ProviderContext): AuthorizationSlice =>
  context.state.slice<AuthorizationSlice>("authorization", () => ({ customRoleDefinitions: {} }));

/** A custom role by its (lower-case) GUID; seeds may spell the GUID in any case. */
const customRole = (context: ProviderContext, guid: string) =>
  Object.entries(slice(context).customRoleDefinitions).find(([key]) => lower(key) === guid)?.[1];

const roleExists = (context: ProviderContext, guid: string): boolean =>
  BUILT_IN_ROLES[guid] !== undefined || customRole(context, guid) !== undefined;

/** The role assignment a request addresses: its normalised scope, name and id. */
function assignmentOf(request: EmulatorRequest): { scope: string; name: string; id: string } {
  const scope = normalizeScope(request.params.scope ?? "/");
  const name = request.params.roleAssignmentName ?? "";
  return {
    scope,
    name,
    id: `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
  };
}

export function createAuthorizationProvider(): EmulatorProvider {
  const callerMayWrite = (
    context: ProviderContext,
    request: EmulatorRequest,
    scope: string,
  ): EmulatorResponse | undefined => {
    const caller = request.callerPrincipalId;
    if (lower(caller) === lower(EMULATOR_ADMIN_PRINCIPAL_ID)) return undefined;
    if (ROLE_WRITERS.some((role) => context.rbac.hasRole(caller, role, scope))) return undefined;
    const action = `Microsoft.Authorization/roleAssignments/${request.method === "DELETE" ? "delete" : "write"}`;
    return context.respond.error(
      403,
      "AuthorizationFailed",
      `The client '${caller}' with object id '${caller}' does not have authorization to perform action '${action}' over scope '${scope}/providers/Microsoft.Authorization/roleAssignments/${request.params.roleAssignmentName ?? ""}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
  };

  const roleDefinitionResource = (context: ProviderContext, scope: string, guid: string) => {
    const custom = customRole(context, guid);
    const role = BUILT_IN_ROLES[guid] ?? custom;
    const subscriptionId = parseResourceId(scope).subscriptionId;
    return {
      id: roleDefinitionIdFor(subscriptionId, guid),
      name: guid,
      type: "Microsoft.Authorization/roleDefinitions",
      properties: {
        roleName: role?.roleName ?? guid,
        type: custom ? "CustomRole" : "BuiltInRole",
        description: role?.description ?? "",
        assignableScopes: ["/"],
        permissions: [{ actions: ["*/read"], notActions: [], dataActions: [], notDataActions: [] }],
      },
    };
  };

  return {
    name: "authorization",
    routes: (context) => [
      assignmentRoute("PUT", ASSIGNMENT_PATH, "RoleAssignments_Create", (request) => {
        const { scope, name, id } = assignmentOf(request);
        const problem = scopeProblem(context, scope);
        if (problem) return problem;
        if (!isGuid(name)) {
          return context.respond.error(
            400,
            "InvalidRoleAssignmentId",
            `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
          );
        }
        const properties =
          isObject(request.body) && isObject(request.body.properties) ? request.body.properties : undefined;
        if (
          !properties ||
          typeof properties.roleDefinitionId !== "string" ||
          typeof properties.principalId !== "string"
        ) {
          return context.respond.error(
            400,
            "InvalidRequestContent",
            "The request content was invalid: 'properties.roleDefinitionId' and 'properties.principalId' are required.",
          );
        }
        const roleGuid = roleGuidOf(properties.roleDefinitionId);
        if (!isGuid(roleGuid) || !roleExists(context, roleGuid)) {
          return context.respond.error(
            400,
            "RoleDefinitionDoesNotExist",
            `The specified role definition with ID '${roleGuid}' does not exist.`,
          );
        }
        if (!isGuid(properties.principalId)) {
          return context.respond.error(
            400,
            "InvalidPrincipalId",
            `A valid principal ID must be provided for role assignment. '${properties.principalId}' is not valid.`,
          );
        }
        const principalType =
          typeof properties.principalType === "string" ? properties.principalType : "User";
        if (!PRINCIPAL_TYPES.includes(principalType)) {
          return context.respond.error(
            400,
            "InvalidRequestContent",
            `The principal type '${principalType}' is not valid.`,
          );
        }
        const denied = callerMayWrite(context, request, scope);
        if (denied) return denied;
        const existing = context.state.roleAssignments.get(lower(id));
        if (existing) {
          if (
            lower(existing.principalId) !== lower(properties.principalId) ||
            roleGuidOf(existing.roleDefinitionId) !== roleGuid
          ) {
            return context.respond.error(
              400,
              "RoleAssignmentUpdateNotPermitted",
              "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            );
          }
          return context.respond.json(200, toResource(existing));
        }
        for (const other of context.state.roleAssignments.values()) {
          if (
            lower(other.scope) === lower(scope) &&
            lower(other.principalId) === lower(properties.principalId) &&
            roleGuidOf(other.roleDefinitionId) === roleGuid
          ) {
            return context.respond.error(409, "RoleAssignmentExists", "The role assignment already exists.");
          }
        }
        const now = context.clock.now();
        const assignment: RoleAssignmentRecord = {
          id,
          name,
          scope,
          roleDefinitionId: roleDefinitionIdFor(parseResourceId(scope).subscriptionId, roleGuid),
          principalId: properties.principalId,
          principalType: principalType as RoleAssignmentRecord["principalType"],
          createdOn: context.clock.reportedIso(now),
          effectiveFromMs: now + context.options.rbacPropagationDelayInMs,
        };
        context.state.roleAssignments.set(lower(id), assignment);
        return context.respond.json(201, toResource(assignment));
      }),
      assignmentRoute("GET", ASSIGNMENT_PATH, "RoleAssignments_Get", (request) => {
        const { name, id } = assignmentOf(request);
        const found = context.state.roleAssignments.get(lower(id));
        return found
          ? context.respond.json(200, toResource(found))
          : context.respond.error(
              404,
              "RoleAssignmentNotFound",
              `The role assignment '${name}' is not found.`,
            );
      }),
      assignmentRoute("DELETE", ASSIGNMENT_PATH, "RoleAssignments_Delete", (request) => {
        const { scope, id } = assignmentOf(request);
        const found = context.state.roleAssignments.get(lower(id));
        if (!found) return context.respond.empty(204);
        const denied = callerMayWrite(context, request, scope);
        if (denied) return denied;
        context.state.roleAssignments.delete(lower(id));
        return context.respond.json(200, toResource(found));
      }),
      assignmentRoute("GET", ASSIGNMENTS_PATH, "RoleAssignments_ListForScope", (request) => {
        const scope = normalizeScope(request.params.scope ?? "/");
        const problem = scopeProblem(context, scope);
        if (problem) return problem;
        const filter = parseAssignmentFilter(request.query.$filter);
        if (filter.invalid !== undefined) {
          return context.respond.error(
            400,
            "UnsupportedQuery",
            `The filter '${filter.invalid}' is not supported. Supported filters are 'atScope()', 'principalId eq {value}' and 'assignedTo({value})'.`,
          );
        }
        const items = [...context.state.roleAssignments.values()]
          .filter((assignment) =>
            filter.atScope
              ? isScopeAncestorOrSelf(assignment.scope, scope)
              : isScopeAncestorOrSelf(assignment.scope, scope) ||
                isScopeAncestorOrSelf(scope, assignment.scope),
          )
          .filter(
            (assignment) =>
              filter.principalId === undefined || lower(assignment.principalId) === lower(filter.principalId),
          )
          .sort((a, b) => a.id.localeCompare(b.id))
          .map(toResource);
        return context.respond.json(200, context.pager.page(request, items));
      }),
      definitionRoute(
        "GET",
        "{*scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}",
        "RoleDefinitions_Get",
        (request) => {
          const guid = lower(request.params.roleDefinitionId ?? "");
          return roleExists(context, guid)
            ? context.respond.json(200, roleDefinitionResource(context, request.params.scope ?? "/", guid))
            : context.respond.error(
                404,
                "RoleDefinitionDoesNotExist",
                `The role definition '${guid}' could not be found.`,
              );
        },
      ),
      definitionRoute(
        "GET",
        "{*scope}/providers/Microsoft.Authorization/roleDefinitions",
        "RoleDefinitions_List",
        (request) => {
          const name = /roleName\s+eq\s+'([^']*)'/iu.exec(request.query.$filter ?? "")?.[1];
          const items = Object.entries(BUILT_IN_ROLES)
            .filter(([, role]) => name === undefined || lower(role.roleName) === lower(name))
            .map(([guid]) => roleDefinitionResource(context, request.params.scope ?? "/", guid));
          return context.respond.json(200, context.pager.page(request, items));
        },
      ),
    ],
  };
}

export default createAuthorizationProvider;
