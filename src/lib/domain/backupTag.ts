/** Reading the backup tag defensively: ARM tags edited by hand or by scripts can be anything. */
export type BackupTag =
  { kind: "absent" } | { kind: "value"; value: string } | { kind: "malformed"; problem: string };

/** ARM's limit for a tag value. */
const MAX_TAG_VALUE_LENGTH = 256;

export function readBackupTag(tags: unknown, tagName: string): BackupTag {
  if (tags === undefined || tags === null) return { kind: "absent" };
  if (typeof tags !== "object" || Array.isArray(tags)) {
    return {
      kind: "malformed",
      problem: `tags are ${Array.isArray(tags) ? "an array" : typeof tags}, not an object`,
    };
  }
  const wanted = tagName.toLowerCase();
  const matches = Object.entries(tags as Record<string, unknown>).filter(
    ([k]) => k.trim().toLowerCase() === wanted,
  );
  if (matches.length === 0) return { kind: "absent" };
  const values = matches.map(([, v]) => v);
  const first = values[0];
  if (typeof first !== "string") {
    return {
      kind: "malformed",
      problem: `tag "${tagName}" has a ${first === null ? "null" : typeof first} value`,
    };
  }
  if (values.some((v) => typeof v !== "string" || v.trim().toLowerCase() !== first.trim().toLowerCase())) {
    return {
      kind: "malformed",
      problem: `tag "${tagName}" appears ${matches.length} times with different values (${matches.map(([k]) => `"${k}"`).join(", ")})`,
    };
  }
  const value = first.trim();
  if (value === "") return { kind: "malformed", problem: `tag "${tagName}" is empty` };
  if (value.length > MAX_TAG_VALUE_LENGTH) {
    return {
      kind: "malformed",
      problem: `tag "${tagName}" is longer than ${MAX_TAG_VALUE_LENGTH} characters`,
    };
  }
  if ([...value].some((ch) => ch.charCodeAt(0) < 0x20)) {
    return { kind: "malformed", problem: `tag "${tagName}" contains control characters` };
  }
  return { kind: "value", value: value.toLowerCase() };
}
