/** The GUID shape Azure uses for subscription, tenant, principal, role definition and job ids. */
export const GUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/** A whole value that is a GUID in any casing, for validators that take a RegExp (zod, query parameters). */
export const GUID_REGEX = new RegExp(`^${GUID_PATTERN}$`, "i");

/** True for a GUID in any casing; Azure compares GUIDs case-insensitively. */
export function isGuid(value: string): boolean {
  return GUID_REGEX.test(value);
}
