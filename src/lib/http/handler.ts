import { authorize as defaultAuthorize, type Authorize } from "../auth/authorize.js";
import type { Principal } from "../auth/tokens.js";
import type { Role } from "../auth/roles.js";
import { loggerFromContext, type ContextLike, type Logger } from "../logger.js";
import { telemetry } from "../telemetry/index.js";
import { errorResponse, HARDENING_HEADERS } from "./errors.js";
import { requestIdOf } from "./requestId.js";
import type { ApiRequest, ApiResponse } from "./types.js";

export interface ApiContext {
  readonly requestId: string;
  readonly principal: Principal;
}

export interface HandleApiOptions {
  readonly role: Role;
  /** Where a 500's details go when the request carries no invocation context. */
  readonly logger?: Logger;
  /** Default: the app's {@link defaultAuthorize}. Tests pass one built on a local key set. */
  readonly authorize?: Authorize;
}

/**
 * Runs an API operation with the common steps in order: request id, authentication and role check
 * (before anything is read or started), then the operation, mapping every error to the stable shape; every
 * answer, success or error, gets {@link HARDENING_HEADERS}. A 500's details are logged through the
 * invocation's `context` when there is one (the Functions host's log, with the invocation id), else
 * through `options.logger`.
 */
export async function handleApi(
  request: ApiRequest,
  options: HandleApiOptions,
  operation: (context: ApiContext) => Promise<ApiResponse>,
  invocation?: ContextLike,
): Promise<ApiResponse> {
  const requestId = requestIdOf(request);
  return telemetry().span(
    `api ${request.method.toUpperCase()} ${routeOf(request)}`,
    { request_id: requestId },
    async () => {
      let response: ApiResponse;
      try {
        const principal = await (options.authorize ?? defaultAuthorize)(request, options.role);
        response = await operation({ requestId, principal });
      } catch (e) {
        response = errorResponse(e, requestId, invocation ? loggerFromContext(invocation) : options.logger);
      }
      return { ...response, headers: { ...response.headers, ...HARDENING_HEADERS } };
    },
  );
}

/**
 * The request's route with its parameters named, not valued (`servers/{subscriptionId}/…/backups`): span
 * names stay few enough to group by.
 */
function routeOf(request: Pick<ApiRequest, "url" | "params">): string {
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url).pathname).replace(/^\/(api\/)?/, "");
  } catch {
    return "(unreadable URL)";
  }
  const params = Object.entries(request.params).filter((p): p is [string, string] => !!p[1]);
  for (const [name, value] of params.filter(([, v]) => v.includes("/"))) {
    path = path.replace(value.replace(/^\//, ""), `{${name}}`);
  }
  return path
    .split("/")
    .map((segment) => {
      const named = params.find(([, v]) => v === segment);
      return named ? `{${named[0]}}` : segment;
    })
    .join("/");
}

/** An operation's runner for one API: {@link handleApi} with the API's options, a role and the invocation. */
export function createApiRunner(
  options: Omit<HandleApiOptions, "role">,
): (
  request: ApiRequest,
  invocation: ContextLike | undefined,
  role: Role,
  operation: (context: ApiContext) => Promise<ApiResponse>,
) => Promise<ApiResponse> {
  return (request, invocation, role, operation) =>
    handleApi(request, { ...options, role }, operation, invocation);
}
