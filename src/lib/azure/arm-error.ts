import { RestError, createHttpHeaders } from "@azure/core-rest-pipeline";
import type { PipelineRequest, PipelineResponse } from "@azure/core-rest-pipeline";

/**
 * ARM error codes callers branch on. The Data Protection service answers them in `error.code` of a 4xx body
 * or of a failed operation status:
 * - `UserErrorMissingRequiredPermissions`: the vault identity lacks a role on the datasource (message names
 *   the role and scope). Right after a grant it is RBAC propagation: retry for a while.
 * - `UserErrorDppDatasourceAlreadyProtected`: the server is protected by another vault (or instance).
 * - `UserErrorDatasourceAndVaultRegionMismatch` / `UserErrorInvalidDatasourceLocation`: server and vault regions differ.
 * - `UserErrorDatasourceNotReady` / `UserErrorPostgresServerNotReady`-like codes: the server is not in a Ready state.
 * - `BMSUserErrorObjectLocked`-like 409 conflicts and `ResourceNotFound` / 404 `NotFound`: usual ARM.
 * - `UserErrorInvalidRequestParameter` / `InvalidRequestContent`: a request body the service rejects for shape.
 * - `TooManyRequests` (429): throttled; the pacing policy waits and retries before this surfaces.
 */
export const knownArmErrorCodes = {
  missingPermissions: "UserErrorMissingRequiredPermissions",
  alreadyProtected: "UserErrorDppDatasourceAlreadyProtected",
  regionMismatch: "UserErrorDatasourceAndVaultRegionMismatch",
  datasourceNotReady: "UserErrorDatasourceNotReady",
  invalidRequestParameter: "UserErrorInvalidRequestParameter",
  policyNotFound: "UserErrorPolicyNotFound",
  resourceNotFound: "ResourceNotFound",
  notFound: "NotFound",
  tooManyRequests: "TooManyRequests",
} as const;

/** One entry of ARM's `error.details`. */
export interface ArmErrorDetail {
  code?: string;
  message?: string;
  target?: string;
  details?: ArmErrorDetail[];
  additionalInfo?: unknown[];
}

/** A `RestError` (name "RestError", `statusCode`, `code` = ARM `error.code`) that also keeps ARM's `details`. */
export interface ArmRestError extends RestError {
  details?: ArmErrorDetail[];
  target?: string;
}

export function isArmRestError(value: unknown): value is ArmRestError {
  return value instanceof Error && value.name === "RestError";
}

interface ArmErrorBody {
  error?: ArmErrorDetail;
  code?: string;
  message?: string;
}

/** Reads ARM's `{ error: { code, message, details } }` (or a bare `{ code, message }`) from any body. */
export function readArmError(body: unknown): ArmErrorDetail | undefined {
  if (!body || typeof body !== "object") return undefined;
  const b = body as ArmErrorBody;
  if (b.error && typeof b.error === "object") return b.error;
  if (typeof b.code === "string") return { code: b.code, message: b.message };
  return undefined;
}

export interface CreateArmErrorInputs {
  statusCode?: number;
  body?: unknown;
  request?: PipelineRequest;
  headers?: Record<string, string>;
  /** Used when the body carries no message. */
  fallbackMessage?: string;
}

/** Builds the typed error every client in this folder throws for a non-success answer. */
export function createArmError(inputs: CreateArmErrorInputs): ArmRestError {
  const detail = readArmError(inputs.body);
  const code = detail?.code ?? (inputs.statusCode === undefined ? undefined : `Http${inputs.statusCode}`);
  const message =
    detail?.message ??
    inputs.fallbackMessage ??
    `The service answered ${inputs.statusCode ?? "without a status"}${code ? ` (${code})` : ""}.`;
  const response: PipelineResponse | undefined =
    inputs.request && inputs.statusCode !== undefined
      ? {
          request: inputs.request,
          status: inputs.statusCode,
          headers: createHttpHeaders(inputs.headers ?? {}),
          bodyAsText: inputs.body === undefined ? undefined : JSON.stringify(inputs.body),
        }
      : undefined;
  const error = new RestError(message, {
    code,
    statusCode: inputs.statusCode,
    request: inputs.request,
    response,
  }) as ArmRestError;
  if (detail?.details) error.details = detail.details;
  if (detail?.target) error.target = detail.target;
  return error;
}
