import type {
  EmulatorProvider,
  EmulatorRequest,
  EmulatorResponse,
  ProviderContext,
} from "../../core/provider.js";
import { lower, normalizeScope, parseResourceId } from "../../core/ids.js";
import { isObject } from "../../core/json.js";
import { serverEvent } from "../../core/serverEvent.js";
import { locationRequired, resourceGroupNotFound } from "../../core/responses.js";
import { routeBuilder } from "../routes.js";

/** Microsoft.Resources: subscriptions, resource groups and the Tags API. */
export const RESOURCES_API_VERSIONS = [
  "2019-10-01",
  "2020-06-01",
  "2021-01-01",
  "2021-04-01",
  "2022-09-01",
  "2023-07-01",
  "2024-03-01",
  "2024-07-01",
  "2024-11-01",
  "2025-01-01",
  "2025-04-01",
];
export const SUBSCRIPTIONS_API_VERSIONS = ["2016-06-01", "2020-01-01", "2021-01-01", "2022-12-01"];
const subscriptionsRoute = routeBuilder(SUBSCRIPTIONS_API_VERSIONS);
const resourcesRoute = routeBuilder(RESOURCES_API_VERSIONS);

const RG_PATH = "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}";
const TAGS_PATH = "{*scope}/providers/Microsoft.Resources/tags/default";

function stringTags(value: unknown): Record<string, string> | string {
  if (!isObject(value)) return "The 'properties.tags' property must be an object.";
  for (const [key, tag] of Object.entries(value)) {
    if (typeof tag !== "string") return `The value of tag '${key}' must be a string.`;
  }
  return value as Record<string, string>;
}

interface TagTarget {
  get(): Record<string, string>;
  set(tags: Record<string, string>): void;
}

/** Where the tags of a scope live: servers and resource groups hold their own, other resources the shared map. */
function tagTarget(context: ProviderContext, scope: string): TagTarget | EmulatorResponse {
  const parsed = parseResourceId(scope);
  const segments = normalizeScope(scope).split("/").filter(Boolean);
  if (segments.length === 2 && parsed.subscriptionId) {
    const key = `/subscriptions/${lower(parsed.subscriptionId)}`;
    return {
      get: () => context.state.tags.get(key) ?? {},
      set: (tags) => context.state.tags.set(key, tags),
    };
  }
  if (segments.length === 4 && parsed.subscriptionId && parsed.resourceGroupName) {
    const group = context.state.getResourceGroup(parsed.subscriptionId, parsed.resourceGroupName);
    if (!group) {
      return resourceGroupNotFound(parsed.resourceGroupName);
    }
    return { get: () => group.tags, set: (tags) => (group.tags = tags) };
  }
  if (lower(parsed.resourceType ?? "") === "microsoft.dbforpostgresql/flexibleservers") {
    const server = context.servers.get(scope);
    if (!server)
      return context.respond.notFound(parsed.resourceType ?? "", parsed.name ?? "", parsed.resourceGroupName);
    return { get: () => server.tags, set: (tags) => (server.tags = tags) };
  }
  const key = lower(normalizeScope(scope));
  return { get: () => context.state.tags.get(key) ?? {}, set: (tags) => context.state.tags.set(key, tags) };
}

function tagsResource(scope: string, tags: Record<string, string>): Record<string, unknown> {
  return {
    id: `${normalizeScope(scope)}/providers/Microsoft.Resources/tags/default`,
    name: "default",
    type: "Microsoft.Resources/tags",
    properties: { tags },
  };
}

export function createResourcesProvider(): EmulatorProvider {
  const groupResource = (group: {
    subscriptionId: string;
    name: string;
    location: string;
    tags: Record<string, string>;
  }) => ({
    id: `/subscriptions/${group.subscriptionId}/resourceGroups/${group.name}`,
    name: group.name,
    type: "Microsoft.Resources/resourceGroups",
    location: group.location,
    tags: group.tags,
    properties: { provisioningState: "Succeeded" },
  });

  const subscriptionResource = (sub: {
    subscriptionId: string;
    displayName: string;
    tenantId: string;
    state: string;
  }) => ({
    id: `/subscriptions/${sub.subscriptionId}`,
    subscriptionId: sub.subscriptionId,
    tenantId: sub.tenantId,
    displayName: sub.displayName,
    state: sub.state,
    subscriptionPolicies: {
      locationPlacementId: "Public_2014-09-01",
      quotaId: "PayAsYouGo_2014-09-01",
      spendingLimit: "Off",
    },
    authorizationSource: "RoleBased",
  });

  const writeTags = (
    context: ProviderContext,
    request: EmulatorRequest,
    patch: boolean,
  ): EmulatorResponse => {
    const scope = request.params.scope ?? "/";
    const target = tagTarget(context, scope);
    if (!("get" in target)) return target;
    if (!isObject(request.body) || !isObject(request.body.properties)) {
      return context.respond.error(
        400,
        "InvalidRequestContent",
        "The request content was invalid: 'properties.tags' is required.",
      );
    }
    const tags = stringTags(request.body.properties.tags ?? {});
    if (typeof tags === "string") return context.respond.error(400, "InvalidTag", tags);
    let next: Record<string, string> = tags;
    if (patch) {
      const operation = String(request.body.operation ?? "");
      const current = target.get();
      if (lower(operation) === "merge") next = { ...current, ...tags };
      else if (lower(operation) === "delete") {
        next = Object.fromEntries(Object.entries(current).filter(([key]) => !(key in tags)));
      } else if (lower(operation) !== "replace") {
        return context.respond.error(
          400,
          "InvalidRequestContent",
          `The tag patch operation '${operation}' is invalid. Valid operations are 'Replace', 'Merge' and 'Delete'.`,
        );
      }
    }
    target.set({ ...next });
    const parsed = parseResourceId(scope);
    if (parsed.subscriptionId) {
      context.events.publish({
        eventType: "Microsoft.Resources.ResourceWriteSuccess",
        subject: normalizeScope(scope),
        subscriptionId: parsed.subscriptionId,
        ...(parsed.resourceGroupName ? { resourceGroupName: parsed.resourceGroupName } : {}),
        operationName: "Microsoft.Resources/tags/write",
      });
    }
    return context.respond.json(200, tagsResource(scope, next));
  };

  return {
    name: "resources",
    routes: (context) => [
      subscriptionsRoute("GET", "/subscriptions", "Subscriptions_List", (request) =>
        context.respond.json(
          200,
          context.pager.page(request, [...context.state.subscriptions.values()].map(subscriptionResource)),
        ),
      ),
      subscriptionsRoute("GET", "/subscriptions/{subscriptionId}", "Subscriptions_Get", (request) => {
        const sub = context.state.getSubscription(request.params.subscriptionId ?? "");
        return sub
          ? context.respond.json(200, subscriptionResource(sub))
          : context.respond.error(
              404,
              "SubscriptionNotFound",
              `The subscription '${request.params.subscriptionId}' could not be found.`,
            );
      }),
      resourcesRoute(
        "GET",
        "/subscriptions/{subscriptionId}/resourcegroups",
        "ResourceGroups_List",
        (request) => {
          const sub = lower(request.params.subscriptionId ?? "");
          const groups = [...context.state.resourceGroups.values()].filter(
            (g) => lower(g.subscriptionId) === sub,
          );
          return context.respond.json(200, context.pager.page(request, groups.map(groupResource)));
        },
      ),
      resourcesRoute("GET", RG_PATH, "ResourceGroups_Get", (request) => {
        const { subscriptionId = "", resourceGroupName = "" } = request.params;
        const group = context.state.getResourceGroup(subscriptionId, resourceGroupName);
        return group
          ? context.respond.json(200, groupResource(group))
          : resourceGroupNotFound(resourceGroupName);
      }),
      resourcesRoute("HEAD", RG_PATH, "ResourceGroups_CheckExistence", (request) => {
        const { subscriptionId = "", resourceGroupName = "" } = request.params;
        return context.respond.empty(
          context.state.getResourceGroup(subscriptionId, resourceGroupName) ? 204 : 404,
        );
      }),
      resourcesRoute("PUT", RG_PATH, "ResourceGroups_CreateOrUpdate", (request) => {
        const { subscriptionId = "", resourceGroupName = "" } = request.params;
        const body = isObject(request.body) ? request.body : {};
        if (typeof body.location !== "string" || body.location === "") {
          return locationRequired();
        }
        const existed = context.state.getResourceGroup(subscriptionId, resourceGroupName) !== undefined;
        const group = context.state.ensureResourceGroup(subscriptionId, resourceGroupName, body.location);
        if (body.tags !== undefined) {
          const tags = stringTags(body.tags);
          if (typeof tags === "string") return context.respond.error(400, "InvalidTag", tags);
          group.tags = { ...tags };
        }
        return context.respond.json(existed ? 200 : 201, groupResource(group));
      }),
      resourcesRoute("DELETE", RG_PATH, "ResourceGroups_Delete", (request) => {
        const { subscriptionId = "", resourceGroupName = "" } = request.params;
        const group = context.state.getResourceGroup(subscriptionId, resourceGroupName);
        if (!group) return context.respond.empty(204);
        for (const server of context.servers.list({ subscriptionId, resourceGroupName })) {
          context.state.servers.delete(lower(server.id));
          context.events.publish(serverEvent(server, "delete"));
        }
        context.state.resourceGroups.delete(lower(`${subscriptionId}/${resourceGroupName}`));
        return context.respond.empty(200);
      }),
      resourcesRoute("GET", TAGS_PATH, "Tags_GetAtScope", (request) => {
        const scope = request.params.scope ?? "/";
        const target = tagTarget(context, scope);
        return "get" in target ? context.respond.json(200, tagsResource(scope, target.get())) : target;
      }),
      resourcesRoute("PUT", TAGS_PATH, "Tags_CreateOrUpdateAtScope", (request) =>
        writeTags(context, request, false),
      ),
      resourcesRoute("PATCH", TAGS_PATH, "Tags_UpdateAtScope", (request) =>
        writeTags(context, request, true),
      ),
      resourcesRoute("DELETE", TAGS_PATH, "Tags_DeleteAtScope", (request) => {
        const scope = request.params.scope ?? "/";
        const target = tagTarget(context, scope);
        if (!("get" in target)) return target;
        target.set({});
        return context.respond.empty(200);
      }),
    ],
  };
}

export default createResourcesProvider;
