import { RestError, createHttpHeaders } from "@azure/core-rest-pipeline";
import type { PipelineRequest, PipelineResponse } from "@azure/core-rest-pipeline";

/**
 * ARM error codes callers branch on. The Data Protection service answers them in `error.code` of a 4xx body
 * or of a failed operation status (then the RestError's `statusCode` is 400 for `UserError*` codes, else 500):
 * - `UserErrorMissingRequiredPermissions`: the vault identity lacks a role on the datasource; the message names
 *   the role and scope. Right after a grant it is RBAC propagation: retry for a while before reporting it.
 * - `UserErrorDppDatasourceAlreadyProtected`: the server already has a backup instance (another vault, or
 *   another instance name in this vault).
 * - `UserErrorDatasourceAndVaultRegionMismatch`: server and vault are in different regions.
 * - `UserErrorDatasourceNotReady`: the server is not `Ready` (stopped, provisioning, ...): wait and retry.
 * - `UserErrorDatasourceNotFound`, `UserErrorPolicyNotFound`: the server or the policy id does not exist.
 * - `UserErrorInvalidRequestParameter`: a body the service rejects for shape (missing `objectType`,
 *   unsupported `datasourceType`, non-weekly PG Flexible schedule, unknown backup rule name).
 * - `UserErrorBackupInstanceNotProtected`: ad hoc backup or an action asked of an instance in the wrong state.
 * - `ResourceNotFound` (404): the vault, instance, policy or job does not exist.
 * - `SubscriptionRequestsThrottled` (429): surfaces only after the pacing policy's bounded retries.
 * The first two are the service's documented codes; for the others no public reference gives the exact
 * string, so these are the ones the local emulator answers.
 */

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
