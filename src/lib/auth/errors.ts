/**
 * Why a request was refused before its operation ran: no or a bad token, a missing role, keys or settings
 * that are not there. Carries the HTTP status and headers it answers with; src/lib/http renders it.
 */
export class AuthError extends Error {
  override readonly name = "AuthError";
  constructor(
    readonly status: 401 | 403 | 500 | 503,
    readonly code: string,
    message: string,
    readonly details: { fix?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
}
