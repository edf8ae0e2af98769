/** Reading the backup tag defensively: ARM tags edited by hand or by scripts can be anything. */
export type BackupTag =
  | { kind: "absent" }
  | { kind: "value"; value: string }
  | { kind: "malformed"; defect: BackupTagDefect; problem: string };

/** What is wrong with a malformed tag, for callers that answer some defects differently. */
export type BackupTagDefect =
  "notAnObject" | "notAString" | "conflicting" | "empty" | "tooLong" | "unprintable";

/** ARM's limit for a tag value. */
const MAX_TAG_VALUE_LENGTH = 256;

/**
 * Characters no tag value may carry: C0 and C1 controls, DEL, and the Unicode line and paragraph separators
 * (they would break a log line or a message a person reads).
 */
// eslint-disable-next-line no-control-regex
export const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function readBackupTag(tags: unknown, tagName: string): BackupTag {
  if (tags === undefined || tags === null) return { kind: "absent" };
  if (typeof tags !== "object" || Array.isArray(tags)) {
    return {
      kind: "malformed",
      defect: "notAnObject",
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
      defect: "notAString",
      problem: `tag "${tagName}" has a ${first === null ? "null" : typeof first} value`,
    };
  }
  if (values.some((v) => typeof v !== "string" || v.trim().toLowerCase() !== first.trim().toLowerCase())) {
    return {
      kind: "malformed",
      defect: "conflicting",
      problem: `tag "${tagName}" appears ${matches.length} times with different values (${matches.map(([k]) => `"${k}"`).join(", ")})`,
    };
  }
  const value = first.trim();
  if (value === "") return { kind: "malformed", defect: "empty", problem: `tag "${tagName}" is empty` };
  if (value.length > MAX_TAG_VALUE_LENGTH) {
    return {
      kind: "malformed",
      defect: "tooLong",
      problem: `tag "${tagName}" is longer than ${MAX_TAG_VALUE_LENGTH} characters`,
    };
  }
  if (UNPRINTABLE.test(value)) {
    return {
      kind: "malformed",
      defect: "unprintable",
      problem: `tag "${tagName}" contains control characters`,
    };
  }
  return { kind: "value", value: value.toLowerCase() };
}
