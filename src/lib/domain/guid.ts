/** The GUID shape Azure uses for subscription, tenant, principal, role definition and job ids. */
export const GUID_PATTERN = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

const GUID = new RegExp(`^${GUID_PATTERN}$`, "i");

/** True for a GUID in any casing; Azure compares GUIDs case-insensitively. */
export function isGuid(value: string): boolean {
  return GUID.test(value);
}
