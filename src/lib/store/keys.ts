/**
 * Table keys cannot hold `/ \ # ?` or control characters. Resource ids are lower-cased (ARM ids are
 * case-insensitive) and base64url-encoded; the readable id is kept in a column beside the key.
 */
export function encodeKey(resourceId: string): string {
  return Buffer.from(resourceId.toLowerCase(), "utf8").toString("base64url");
}

export function decodeKey(key: string): string {
  return Buffer.from(key, "base64url").toString("utf8");
}

const MAX_TICKS = 8_640_000_000_000_000; // ms of Date's range: keys sort newest first

/** Fixed-width inverted timestamp so that ascending RowKey order is newest first. */
export function invertedTimestamp(date: Date): string {
  return String(MAX_TICKS - date.getTime()).padStart(16, "0");
}

/** Day partition `yyyymmdd` (UTC). */
export function dayKey(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, "");
}
