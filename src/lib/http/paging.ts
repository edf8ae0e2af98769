import { jsonResponse } from "./errors.js";
import type { ApiRequest, ApiResponse } from "./types.js";

/**
 * One page of a list: `{ value }`, plus `continuationToken` and a `nextLink` (this request's URL with the
 * token, without the function key) when there is more.
 */
export function pagedResponse(
  request: Pick<ApiRequest, "url">,
  value: unknown[],
  continuationToken: string | undefined,
  requestId: string,
): ApiResponse {
  if (!continuationToken) return jsonResponse(200, { value }, requestId);
  const next = new URL(request.url);
  next.searchParams.delete("code");
  next.searchParams.set("continuationToken", continuationToken);
  return jsonResponse(200, { value, continuationToken, nextLink: next.toString() }, requestId);
}
