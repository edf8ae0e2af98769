import { AuthError } from "../auth/errors.js";
import { ConflictError, TransientError, ensureError } from "../errors.js";
import type { Logger } from "../logger.js";
import { InvalidContinuationTokenError } from "../util/pageToken.js";
import type { ApiResponse } from "./types.js";
import { REQUEST_ID_HEADER } from "./requestId.js";

/**
 * Headers `handleApi` puts on every API answer, success or error: never sniffed as anything but its
 * content type (error messages quote what the caller sent) and never cached (answers depend on the token).
 */
export const HARDENING_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
};

/** The one error body every endpoint returns: `{ error: { code, message, target?, fix? } }`. */
export interface ApiErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly target?: string;
    readonly fix?: string;
  };
}

/** An error that already knows its HTTP status; thrown by handlers and helpers, rendered by {@link errorResponse}. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { target?: string; fix?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
}

export function errorBody(
  code: string,
  message: string,
  details: { target?: string; fix?: string } = {},
): ApiErrorBody {
  return {
    error: {
      code,
      message,
      ...(details.target === undefined ? {} : { target: details.target }),
      ...(details.fix === undefined ? {} : { fix: details.fix }),
    },
  };
}

/**
 * Turns any thrown value into the stable error shape. Known kinds keep their message; anything else
 * becomes a 500 whose message says nothing about internals (the log has the details).
 */
export function errorResponse(error: unknown, requestId: string, logger?: Logger): ApiResponse {
  const headers = { [REQUEST_ID_HEADER]: requestId, "content-type": "application/json" };
  if (error instanceof ApiError || error instanceof AuthError) {
    return {
      status: error.status,
      headers: { ...headers, ...error.details.headers },
      jsonBody: errorBody(error.code, error.message, error.details),
    };
  }
  if (error instanceof InvalidContinuationTokenError) {
    return {
      status: 400,
      headers,
      jsonBody: errorBody("InvalidContinuationToken", error.message, {
        target: "continuationToken",
        fix: "Follow the nextLink (or send the continuationToken) of the previous page unchanged, or leave the parameter out to start from the first page.",
      }),
    };
  }
  if (error instanceof ConflictError) {
    return { status: 409, headers, jsonBody: errorBody("Conflict", error.message) };
  }
  if (error instanceof TransientError) {
    const retry: Record<string, string> =
      error.retryAfterInMs === undefined
        ? {}
        : { "retry-after": String(Math.ceil(error.retryAfterInMs / 1000)) };
    return {
      status: 503,
      headers: { ...headers, ...retry },
      jsonBody: errorBody("ServiceUnavailable", error.message, { fix: "Retry the request later." }),
    };
  }
  logger?.error(`Unhandled error in request ${requestId}: ${ensureError(error).stack ?? String(error)}`);
  return {
    status: 500,
    headers,
    jsonBody: errorBody(
      "InternalError",
      `The request failed unexpectedly. Quote request id ${requestId} when reporting it.`,
    ),
  };
}

/** A JSON success response carrying the request id. */
export function jsonResponse(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): ApiResponse {
  return {
    status,
    headers: { [REQUEST_ID_HEADER]: requestId, "content-type": "application/json", ...headers },
    jsonBody: body,
  };
}
