/**
 * The one continuation-token format of the API: base64url JSON `{ pk, rk }` naming the table keys of the
 * last item of the previous page; a store resumes after them with a key filter (keyset paging). Tokens the
 * Tables SDK makes never leave a store, so nothing a caller sends reaches the SDK as a token.
 */

/** Table keys of the last item of a page. */
export interface PagePosition {
  partitionKey: string;
  rowKey: string;
}

/** A continuation token that is not one this API returned (rendered as 400 InvalidContinuationToken). */
export class InvalidContinuationTokenError extends RangeError {
  override readonly name = "InvalidContinuationTokenError";
  constructor(message = "The continuation token is not one this API returned.") {
    super(message);
  }
}

/** Every key this app writes is base64url, digits, a GUID or a sweep id: no other character is accepted. */
const KEY = /^[A-Za-z0-9_-]{1,1024}$/;
const TOKEN = /^[A-Za-z0-9_-]{1,4096}$/;

export function encodePageToken(position: PagePosition): string {
  return Buffer.from(JSON.stringify({ pk: position.partitionKey, rk: position.rowKey }), "utf8").toString(
    "base64url",
  );
}

/**
 * The position a token names; {@link InvalidContinuationTokenError} unless it is exactly what
 * {@link encodePageToken} makes (canonical encoding, no other fields, key characters only).
 */
export function decodePageToken(token: string): PagePosition {
  try {
    if (!TOKEN.test(token)) throw new Error();
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    const { pk, rk } = (parsed ?? {}) as { pk?: unknown; rk?: unknown };
    if (typeof pk !== "string" || typeof rk !== "string" || !KEY.test(pk) || !KEY.test(rk)) throw new Error();
    const position = { partitionKey: pk, rowKey: rk };
    if (encodePageToken(position) !== token) throw new Error();
    return position;
  } catch {
    throw new InvalidContinuationTokenError();
  }
}

/** The OData filter that resumes after `position` in key order. */
export function afterPositionFilter(position: PagePosition): string {
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const pk = quote(position.partitionKey);
  const rk = quote(position.rowKey);
  return `(PartitionKey gt ${pk} or (PartitionKey eq ${pk} and RowKey gt ${rk}))`;
}
