import { authorize as defaultAuthorize, type Authorize } from "../auth/authorize.js";
import type { Principal } from "../auth/tokens.js";
import type { Role } from "../auth/roles.js";
import type { Logger } from "../logger.js";
import { errorResponse } from "./errors.js";
import { requestIdOf } from "./requestId.js";
import type { ApiRequest, ApiResponse } from "./types.js";

export interface ApiContext {
  readonly requestId: string;
  readonly principal: Principal;
}

export interface HandleApiOptions {
  readonly role: Role;
  readonly logger?: Logger;
  /** Default: the app's {@link defaultAuthorize}. Tests pass one built on a local key set. */
  readonly authorize?: Authorize;
}

/**
 * Runs an API operation with the common steps in order: request id, authentication and role check
 * (before anything is read or started), then the operation, mapping every error to the stable shape.
 */
export async function handleApi(
  request: ApiRequest,
  options: HandleApiOptions,
  operation: (context: ApiContext) => Promise<ApiResponse>,
): Promise<ApiResponse> {
  const requestId = requestIdOf(request);
  try {
    const principal = await (options.authorize ?? defaultAuthorize)(request, options.role);
    return await operation({ requestId, principal });
  } catch (e) {
    return errorResponse(e, requestId, options.logger);
  }
}
