import { randomUUID } from "node:crypto";
import type { ApiRequest } from "./types.js";

export const REQUEST_ID_HEADER = "x-request-id";

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The caller's request id (`x-request-id` or `x-ms-client-request-id`) when it is a safe token,
 * otherwise a new one; echoed on every response so a caller can correlate with our logs.
 */
export function requestIdOf(request: Pick<ApiRequest, "headers">): string {
  for (const name of [REQUEST_ID_HEADER, "x-ms-client-request-id"]) {
    const value = request.headers.get(name)?.trim();
    if (value && SAFE_ID.test(value)) return value;
  }
  return randomUUID();
}

/** The `x-request-id` header for an answer built outside `handleApi` (health, the dashboard page). */
export function requestIdHeader(request: Pick<ApiRequest, "headers">): Record<string, string> {
  return { [REQUEST_ID_HEADER]: requestIdOf(request) };
}
