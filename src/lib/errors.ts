/**
 * The small error taxonomy every capability uses. SDK calls throw `unknown`: normalise once with
 * {@link ensureError}, then decide between retrying ({@link TransientError}), re-reading after a
 * conflict ({@link ConflictError}), or rethrowing a bug. Errors a person must fix are typed where they
 * arise (ApiError, AuthError) and carry their fix.
 */

/** Worth retrying later: throttling, 5xx, timeouts, RBAC still propagating. */
export class TransientError extends Error {
  override readonly name: string = "TransientError";
  constructor(
    message: string,
    readonly retryAfterInMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** An ETag precondition failed: someone else changed the row; re-read and decide again. */
export class ConflictError extends Error {
  override readonly name: string = "ConflictError";
}

export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === "string") return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** Shape of `RestError` from @azure/core-rest-pipeline, matched by name as the SDK guidelines advise. */
export interface RestErrorLike extends Error {
  name: "RestError";
  statusCode?: number;
  code?: string;
  response?: { headers?: { get(name: string): string | undefined } };
}

export function isRestError(value: unknown): value is RestErrorLike {
  return value instanceof Error && value.name === "RestError";
}

export function isTransientStatus(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}
