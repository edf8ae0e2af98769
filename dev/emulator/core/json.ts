/** A JSON object (not null, not an array): what request bodies and their nested parts are checked with. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
