/** Resource id helpers: ARM treats ids case-insensitively, so every comparison goes through `lower`. */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ARM resource group names: 1–90 of letters, digits, `_ - . ( )`, not ending in a period. */
const RESOURCE_GROUP = /^[-\w.()]{1,90}$/u;

export const isGuid = (value: string): boolean => GUID.test(value);
export const isResourceGroupName = (value: string): boolean =>
  RESOURCE_GROUP.test(value) && !value.endsWith(".");

export const lower = (value: string): string => value.toLowerCase();

/** Normalises a scope to `/a/b/c` without trailing slash (root scope is `/`). */
export function normalizeScope(scope: string): string {
  const trimmed = scope.replace(/\/+$/u, "");
  if (trimmed === "") return "/";
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

/** True when `parent` equals `child` or is one of its ancestor scopes (segment-wise, case-insensitive). */
export function isScopeAncestorOrSelf(parent: string, child: string): boolean {
  const p = lower(normalizeScope(parent));
  const c = lower(normalizeScope(child));
  if (p === "/") return true;
  return c === p || c.startsWith(`${p}/`);
}

export interface ParsedResourceId {
  subscriptionId?: string;
  resourceGroupName?: string;
  provider?: string;
  resourceType?: string;
  name?: string;
}

export function parseResourceId(id: string): ParsedResourceId {
  const segments = normalizeScope(id).split("/").filter(Boolean);
  const result: ParsedResourceId = {};
  for (let i = 0; i < segments.length; i += 1) {
    const key = lower(segments[i] ?? "");
    const value = segments[i + 1];
    if (value === undefined) break;
    if (key === "subscriptions" && result.subscriptionId === undefined) result.subscriptionId = value;
    else if (key === "resourcegroups" && result.resourceGroupName === undefined)
      result.resourceGroupName = value;
    else if (key === "providers") {
      result.provider = value;
      const type = segments[i + 2];
      const name = segments[i + 3];
      if (type !== undefined) result.resourceType = `${value}/${type}`;
      if (name !== undefined) result.name = name;
      i += 3;
      continue;
    }
    i += 1;
  }
  return result;
}

export const resourceGroupKey = (subscriptionId: string, resourceGroupName: string): string =>
  lower(`${subscriptionId}/${resourceGroupName}`);
