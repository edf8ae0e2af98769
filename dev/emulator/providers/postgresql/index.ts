import type {
  EmulatorProvider,
  EmulatorRequest,
  EmulatorResponse,
  ProviderContext,
  ServerRecord,
  ServerState,
} from "../../core/provider.js";
import { DEFAULT_SERVER_SKU, defaultServerProperties, serverIdFor } from "../../core/state.js";
import { isObject } from "../../core/json.js";
import { serverEvent, type ServerOperation } from "../../core/serverEvent.js";
import { locationRequired, resourceGroupNotFound } from "../../core/responses.js";
import { routeBuilder } from "../routes.js";

/** What `@azure/arm-postgresql-flexible` 9 sends. */
export const POSTGRES_API_VERSIONS = ["2025-08-01", "2024-08-01", "2025-06-01-preview"] as const;
const route = routeBuilder(POSTGRES_API_VERSIONS);
const TYPE = "Microsoft.DBforPostgreSQL/flexibleServers";
const SERVER_PATH =
  "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{serverName}";
/** PG Flexible server names: 3–63 lower-case letters, digits and hyphens, not starting or ending with a hyphen. */
const SERVER_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/u;
const BUSY_STATES: readonly ServerState[] = [
  "Provisioning",
  "Updating",
  "Dropping",
  "Starting",
  "Stopping",
  "Restarting",
];
/** Properties never echoed back (secrets) or not stored. */
const WRITE_ONLY = ["administratorLoginPassword"];

function toResource(server: ServerRecord): Record<string, unknown> {
  return {
    sku: server.sku,
    systemData: server.systemData ?? {},
    properties: server.properties,
    location: server.location,
    tags: server.tags,
    id: server.id,
    name: server.name,
    type: TYPE,
  };
}

/** One page of `servers`, rendering only that page's servers (a large subscription's list stays linear in pages). */
function renderedPage(request: EmulatorRequest, context: ProviderContext, servers: ServerRecord[]) {
  const page = context.pager.page(request, servers);
  return { ...page, value: page.value.map(toResource) };
}

function stripSecrets(properties: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...properties };
  for (const key of WRITE_ONLY) delete copy[key];
  for (const key of ["state", "fullyQualifiedDomainName", "minorVersion"]) delete copy[key];
  return copy;
}

/** Deep merge of plain objects (PATCH semantics for nested properties such as `storage`). */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = isObject(value) && isObject(current) ? merge(current, value) : value;
  }
  return out;
}

function validateTags(tags: unknown): string | undefined {
  if (tags === undefined) return undefined;
  if (!isObject(tags)) return "The 'tags' property must be an object of string values.";
  for (const [key, value] of Object.entries(tags)) {
    if (typeof value !== "string") return `The value of tag '${key}' must be a string.`;
  }
  return undefined;
}

/** `Canada Central` → `canadacentral`. */
function regionName(location: string): string {
  return location.replace(/\s+/g, "").toLowerCase();
}

/**
 * A replica's replication properties (`createMode: Replica` with `sourceServerResourceId`), as Azure answers
 * them (2024-08-01 ReplicasListByServer example): `AsyncReplica` in the source's region, else `GeoAsyncReplica`.
 */
function replicaProperties(
  properties: Record<string, unknown>,
  location: string,
  source: ServerRecord | undefined,
): Record<string, unknown> {
  if (String(properties.createMode ?? "").toLowerCase() !== "replica") return {};
  const role =
    source && regionName(source.location) !== regionName(location) ? "GeoAsyncReplica" : "AsyncReplica";
  return {
    replicationRole: role,
    replicaCapacity: 0,
    replica: { role, capacity: 0, replicationState: "Active" },
  };
}

export function createPostgresProvider(): EmulatorProvider {
  // A server's location is kept as written (a seed may give the display name, "Canada Central", as Azure
  // answers for some servers); operation URLs use the region name.
  const operationPaths = (subscriptionId: string, written: string) => {
    const location = regionName(written);
    return {
      statusPathPrefix: `/subscriptions/${subscriptionId}/providers/Microsoft.DBforPostgreSQL/locations/${location}/azureAsyncOperation`,
      resultPathPrefix: `/subscriptions/${subscriptionId}/providers/Microsoft.DBforPostgreSQL/locations/${location}/operationResults`,
    };
  };

  const notFound = (context: ProviderContext, request: EmulatorRequest): EmulatorResponse => {
    const { subscriptionId = "", resourceGroupName = "", serverName = "" } = request.params;
    return context.state.getResourceGroup(subscriptionId, resourceGroupName)
      ? context.respond.notFound(TYPE, serverName, resourceGroupName)
      : resourceGroupNotFound(resourceGroupName);
  };

  /** The 409 for a write while another operation runs on the server (named as the request names it). */
  const busy = (
    context: ProviderContext,
    server: ServerRecord | undefined,
    serverName: string,
  ): EmulatorResponse | undefined =>
    server && BUSY_STATES.includes(server.properties.state)
      ? context.respond.error(
          409,
          "AnotherOperationInProgress",
          `An operation is in progress on server '${serverName}'. Please retry after it completes.`,
        )
      : undefined;

  /** A PUT or PATCH body: an object whose tags are strings, else the 400. */
  const serverBody = (
    context: ProviderContext,
    request: EmulatorRequest,
  ): { body: Record<string, unknown> } | { error: EmulatorResponse } => {
    if (!isObject(request.body)) {
      return {
        error: context.respond.error(
          400,
          "InvalidRequestContent",
          "The request content was invalid: a server object is required.",
        ),
      };
    }
    const tagError = validateTags(request.body.tags);
    return tagError ? { error: context.respond.error(400, "InvalidTag", tagError) } : { body: request.body };
  };

  /** Merges written properties into the server's, keeping its state and dropping read-only and secret ones. */
  const mergeProperties = (server: ServerRecord, written: Record<string, unknown>): void => {
    server.properties = {
      ...(merge(server.properties, stripSecrets(written)) as ServerRecord["properties"]),
      state: server.properties.state,
    };
  };

  const lookup = (context: ProviderContext, request: EmulatorRequest): ServerRecord | undefined => {
    const { subscriptionId = "", resourceGroupName = "", serverName = "" } = request.params;
    return context.servers.get(serverIdFor(subscriptionId, resourceGroupName, serverName));
  };

  /** Runs `state` for the operation's duration, then `done` and the event; answers 202 with LRO headers. */
  const startTransition = (
    context: ProviderContext,
    request: EmulatorRequest,
    server: ServerRecord,
    transient: ServerState,
    durationInMs: number,
    done: () => void,
    event: ServerOperation = "write",
  ): EmulatorResponse => {
    server.properties.state = transient;
    const handle = context.lro.start({
      ...operationPaths(server.subscriptionId, server.location),
      apiVersion: request.apiVersion,
      durationInMs,
      subscriptionId: server.subscriptionId,
      complete: () => {
        done();
        context.events.publish(serverEvent(server, event));
        return { status: "Succeeded" };
      },
    });
    return context.respond.json(202, undefined, handle.headers);
  };

  /** POST start/stop/restart: state machine of the spec's ServerState, answered as an LRO with an action event. */
  const action = (
    context: ProviderContext,
    verb: "start" | "stop" | "restart",
    allowedFrom: readonly ServerState[],
    transient: ServerState,
    final: ServerState,
  ) =>
    route(
      "POST",
      `${SERVER_PATH}/${verb}`,
      `Servers_${verb[0]?.toUpperCase()}${verb.slice(1)}`,
      (request) => {
        const server = lookup(context, request);
        if (!server) return notFound(context, request);
        if (!allowedFrom.includes(server.properties.state)) {
          return context.respond.error(
            409,
            "InvalidServerState",
            `Operation '${verb}' is not allowed when the server is in state '${server.properties.state}'.`,
          );
        }
        return startTransition(
          context,
          request,
          server,
          transient,
          context.options.provisioningDelayInMs / 4,
          () => {
            server.properties.state = final;
          },
          verb,
        );
      },
    );

  return {
    name: "postgresql",
    routes: (context) => [
      action(context, "start", ["Stopped"], "Starting", "Ready"),
      action(context, "stop", ["Ready"], "Stopping", "Stopped"),
      action(context, "restart", ["Ready"], "Restarting", "Ready"),
      route(
        "GET",
        "/subscriptions/{subscriptionId}/providers/Microsoft.DBforPostgreSQL/flexibleServers",
        "Servers_ListBySubscription",
        (request) => {
          const servers = context.servers.list({ subscriptionId: request.params.subscriptionId ?? "" });
          return context.respond.json(200, renderedPage(request, context, servers));
        },
      ),
      route(
        "GET",
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.DBforPostgreSQL/flexibleServers",
        "Servers_ListByResourceGroup",
        (request) => {
          const { subscriptionId = "", resourceGroupName = "" } = request.params;
          if (!context.state.getResourceGroup(subscriptionId, resourceGroupName)) {
            return resourceGroupNotFound(resourceGroupName);
          }
          const servers = context.servers.list({ subscriptionId, resourceGroupName });
          return context.respond.json(200, renderedPage(request, context, servers));
        },
      ),
      route("GET", SERVER_PATH, "Servers_Get", (request) => {
        const server = lookup(context, request);
        return server ? context.respond.json(200, toResource(server)) : notFound(context, request);
      }),
      route("PUT", SERVER_PATH, "Servers_CreateOrUpdate", (request) => {
        const { subscriptionId = "", resourceGroupName = "", serverName = "" } = request.params;
        if (!SERVER_NAME.test(serverName)) {
          return context.respond.error(
            400,
            "InvalidResourceName",
            `The resource name '${serverName}' is invalid. Server names must be 3 to 63 characters of lower-case letters, digits and hyphens, and cannot start or end with a hyphen.`,
          );
        }
        const checked = serverBody(context, request);
        if ("error" in checked) return checked.error;
        const { body } = checked;
        if (typeof body.location !== "string" || body.location === "") {
          return locationRequired();
        }
        const properties = isObject(body.properties) ? body.properties : {};
        const existing = lookup(context, request);
        const conflict = busy(context, existing, serverName);
        if (conflict) return conflict;
        if (existing) {
          mergeProperties(existing, properties);
          if (body.tags !== undefined) existing.tags = { ...(body.tags as Record<string, string>) };
          if (isObject(body.sku)) existing.sku = body.sku as ServerRecord["sku"];
          return startTransition(
            context,
            request,
            existing,
            "Updating",
            context.options.provisioningDelayInMs / 4,
            () => {
              existing.properties.state = "Ready";
            },
          );
        }
        context.state.ensureResourceGroup(subscriptionId, resourceGroupName, body.location);
        const storage = isObject(properties.storage) ? properties.storage : {};
        const defaults = defaultServerProperties(
          serverName,
          typeof properties.version === "string" ? properties.version : undefined,
          typeof storage.storageSizeGB === "number" ? storage.storageSizeGB : undefined,
        );
        const server: ServerRecord = {
          id: serverIdFor(subscriptionId, resourceGroupName, serverName),
          subscriptionId: subscriptionId.toLowerCase(),
          resourceGroupName,
          name: serverName,
          location: body.location,
          tags: { ...((body.tags as Record<string, string> | undefined) ?? {}) },
          properties: {
            ...(merge(defaults, stripSecrets(properties)) as ServerRecord["properties"]),
            ...replicaProperties(
              properties,
              body.location,
              typeof properties.sourceServerResourceId === "string"
                ? context.servers.get(properties.sourceServerResourceId)
                : undefined,
            ),
            state: "Provisioning",
            fullyQualifiedDomainName: `${serverName}.postgres.database.azure.com`,
          },
          sku: isObject(body.sku) ? (body.sku as ServerRecord["sku"]) : { ...DEFAULT_SERVER_SKU },
          systemData: { createdAt: context.clock.nowIso() },
        };
        context.state.servers.set(server.id.toLowerCase(), server);
        return startTransition(
          context,
          request,
          server,
          "Provisioning",
          context.options.provisioningDelayInMs,
          () => {
            server.properties.state = "Ready";
          },
        );
      }),
      route("PATCH", SERVER_PATH, "Servers_Update", (request) => {
        const server = lookup(context, request);
        if (!server) return notFound(context, request);
        const checked = serverBody(context, request);
        if ("error" in checked) return checked.error;
        const { body } = checked;
        const conflict = busy(context, server, server.name);
        if (conflict) return conflict;
        const before = server.properties.state;
        if (body.tags !== undefined) server.tags = { ...(body.tags as Record<string, string>) };
        if (isObject(body.sku))
          server.sku = {
            ...(server.sku ?? { name: "", tier: "" }),
            ...(body.sku as object),
          } as ServerRecord["sku"];
        if (isObject(body.properties)) mergeProperties(server, body.properties);
        // A stopped or disabled server stays so after an update; others return to Ready.
        const after: ServerState =
          before === "Stopped" || before === "Disabled" || before === "Inaccessible" ? before : "Ready";
        return startTransition(
          context,
          request,
          server,
          "Updating",
          context.options.provisioningDelayInMs / 4,
          () => {
            server.properties.state = after;
          },
        );
      }),
      route("DELETE", SERVER_PATH, "Servers_Delete", (request) => {
        const server = lookup(context, request);
        if (!server) return context.respond.empty(204);
        if (server.properties.state === "Dropping") {
          return context.respond.error(
            409,
            "AnotherOperationInProgress",
            `Server '${server.name}' is being deleted.`,
          );
        }
        return startTransition(
          context,
          request,
          server,
          "Dropping",
          context.options.provisioningDelayInMs / 4,
          () => {
            context.state.servers.delete(server.id.toLowerCase());
          },
          "delete",
        );
      }),
    ],
  };
}

export default createPostgresProvider;
