import { GUID_PATTERN } from "./guid.js";

/** A PostgreSQL Flexible Server's resource id, split into its parts (all lower-case: ARM ids compare case-insensitively). */
export interface ServerRef {
  resourceId: string;
  subscriptionId: string;
  resourceGroup: string;
  serverName: string;
}

// Resource group: 1-90 of letters, digits, `-_.()` (ARM also forbids a trailing `.`).
const RESOURCE_GROUP_PATTERN = "[-\\w.()]{1,90}";
// Server: 3-63 of lower-case letters, digits and `-`, starting and ending with a letter or digit.
const SERVER_NAME_PATTERN = "[a-z0-9][a-z0-9-]{1,61}[a-z0-9]";

const SERVER_ID = new RegExp(
  `^/subscriptions/(${GUID_PATTERN})/resourcegroups/(${RESOURCE_GROUP_PATTERN})/providers/microsoft\\.dbforpostgresql/flexibleservers/(${SERVER_NAME_PATTERN})$`,
  "i",
);
const RESOURCE_GROUP = new RegExp(`^${RESOURCE_GROUP_PATTERN}$`);
const SERVER_NAME = new RegExp(`^${SERVER_NAME_PATTERN}$`);

/** True for a name ARM accepts as a resource group (any casing). */
export function isResourceGroupName(value: string): boolean {
  return RESOURCE_GROUP.test(value) && !value.endsWith(".");
}

/** True for a flexible server name as ARM creates it (lower-case only). */
export function isServerName(value: string): boolean {
  return SERVER_NAME.test(value);
}

/** Server resource id → its parts; undefined for anything that is not a flexible server id. */
export function parseServerId(resourceId: string): ServerRef | undefined {
  const trimmed = resourceId.trim();
  const match = SERVER_ID.exec(trimmed);
  if (!match) return undefined;
  const [, subscriptionId, resourceGroup, serverName] = match as unknown as [string, string, string, string];
  if (!isResourceGroupName(resourceGroup) || !isServerName(serverName.toLowerCase())) return undefined;
  return {
    resourceId: trimmed.toLowerCase(),
    subscriptionId: subscriptionId.toLowerCase(),
    resourceGroup: resourceGroup.toLowerCase(),
    serverName: serverName.toLowerCase(),
  };
}

/** The server id of `/subscriptions/{s}/resourceGroups/{rg}/.../flexibleServers/{name}`, lower-case. */
export function formatServerId(ref: Omit<ServerRef, "resourceId">): string {
  return `/subscriptions/${ref.subscriptionId}/resourcegroups/${ref.resourceGroup}/providers/microsoft.dbforpostgresql/flexibleservers/${ref.serverName}`.toLowerCase();
}

/** The resource group scope that holds a server (where the vault identity needs Reader). */
export function resourceGroupScopeOf(serverId: string): string {
  return serverId.replace(/\/providers\/microsoft\.dbforpostgresql\/flexibleservers\/[^/]+$/i, "");
}
