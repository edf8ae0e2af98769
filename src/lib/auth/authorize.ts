import type { Config } from "../config/index.js";
import { getConfig } from "../config/index.js";
import { AuthError } from "./errors.js";
import { hasRole, type Role } from "./roles.js";
import { createTokenValidator, defaultIssuers, type Principal, type TokenValidator } from "./tokens.js";

/** The part of a request authorization reads; an API request satisfies it. */
export interface AuthRequest {
  readonly headers: { get(name: string): string | null };
}

export type Authorize = (request: AuthRequest, requiredRole: Role) => Promise<Principal>;

/**
 * Checks the bearer token and the app role. 401 when the token is missing or invalid, 403 when it lacks
 * the role. There is deliberately no setting that turns this off: local development points
 * PGFLEX_AUTH_JWKS_URI (and PGFLEX_AUTH_ISSUER) at a local key set instead.
 */
export function createAuthorizer(validator: TokenValidator): Authorize {
  return async (request, requiredRole) => {
    const header = request.headers.get("authorization");
    if (!header) {
      throw new AuthError(401, "MissingToken", "The request has no bearer token.", {
        fix: "Send Authorization: Bearer <token> with a Microsoft Entra ID token for this API.",
        headers: { "www-authenticate": 'Bearer realm="pgflex-autoprotect"' },
      });
    }
    const match = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new AuthError(401, "InvalidToken", "The Authorization header is not a bearer token.", {
        fix: "Send Authorization: Bearer <token>.",
        headers: { "www-authenticate": 'Bearer error="invalid_request"' },
      });
    }
    const principal = await validator.validate(match[1]);
    if (!hasRole(principal.roles, requiredRole)) {
      throw new AuthError(403, "MissingRole", `The caller does not have the app role ${requiredRole}.`, {
        fix: `Assign the app role ${requiredRole} to the caller in the API's enterprise application (Microsoft Entra ID).`,
        headers: { "www-authenticate": `Bearer error="insufficient_scope"` },
      });
    }
    return principal;
  };
}

/** Builds the validator from configuration; keys come from the tenant's JWKS, cached by jose. */
export async function createTokenValidatorFromConfig(config: Config): Promise<TokenValidator> {
  const tenantId = config.authTenantId;
  const audience = config.authAudience;
  if (!tenantId || !audience) {
    throw new AuthError(500, "AuthNotConfigured", "API authentication is not configured.", {
      fix: "Set PGFLEX_AUTH_TENANT_ID and PGFLEX_AUTH_AUDIENCE.",
    });
  }
  const { createRemoteJWKSet } = await import("jose");
  const jwksUri = config.authJwksUri ?? `https://login.microsoftonline.com/${tenantId}/discovery/v2.0/keys`;
  const keys = createRemoteJWKSet(new URL(jwksUri), {
    cacheMaxAge: 6 * 60 * 60_000,
    cooldownDuration: 30_000,
    timeoutDuration: 5_000,
  });
  return createTokenValidator({
    tenantId,
    audience,
    issuers: config.authIssuer ? [config.authIssuer] : defaultIssuers(tenantId),
    keys,
  });
}

let shared: Promise<Authorize> | undefined;

/** The app's authorizer, built once per process from {@link getConfig}. */
export async function authorize(request: AuthRequest, requiredRole: Role): Promise<Principal> {
  shared ??= createTokenValidatorFromConfig(getConfig())
    .then(createAuthorizer)
    .catch((e: unknown) => {
      shared = undefined;
      throw e;
    });
  return (await shared)(request, requiredRole);
}
