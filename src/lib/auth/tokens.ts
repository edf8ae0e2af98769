import type { JWTVerifyGetKey } from "jose";
import { AuthError } from "./errors.js";

/** Who called: taken from a validated token only. */
export interface Principal {
  /** `oid` when present (stable per user/app in the tenant), else `sub`. */
  readonly id: string;
  readonly name?: string;
  readonly roles: readonly string[];
  readonly tenantId?: string;
}

export interface TokenValidatorOptions {
  readonly tenantId: string;
  readonly audience: string;
  /** Accepted issuers; default the tenant's v2.0 and v1.0 issuers. */
  readonly issuers?: readonly string[];
  /** Key lookup: `createRemoteJWKSet` in the app (cached), `createLocalJWKSet` in tests. */
  readonly keys: JWTVerifyGetKey;
  /** Allowed clock skew; default 5 minutes, Entra ID's own tolerance. */
  readonly clockToleranceInMs?: number;
  /** For tests: the time tokens are checked against. */
  readonly now?: () => Date;
}

export interface TokenValidator {
  validate(token: string): Promise<Principal>;
}

export function defaultIssuers(tenantId: string): string[] {
  return [`https://login.microsoftonline.com/${tenantId}/v2.0`, `https://sts.windows.net/${tenantId}/`];
}

const fix =
  "Request a token for the API's audience from Microsoft Entra ID and send it as Authorization: Bearer <token>.";

/** Validates Entra ID bearer tokens: signature (JWKS), issuer, audience, expiry and not-before; RS256 only. */
export function createTokenValidator(options: TokenValidatorOptions): TokenValidator {
  const issuers = options.issuers ?? defaultIssuers(options.tenantId);
  return {
    async validate(token) {
      const { jwtVerify, errors } = await import("jose");
      try {
        const { payload } = await jwtVerify(token, options.keys, {
          issuer: [...issuers],
          audience: options.audience,
          algorithms: ["RS256"],
          clockTolerance: Math.round((options.clockToleranceInMs ?? 5 * 60_000) / 1000),
          requiredClaims: ["exp"],
          ...(options.now ? { currentDate: options.now() } : {}),
        });
        const id = typeof payload["oid"] === "string" ? payload["oid"] : payload.sub;
        if (!id) throw invalid("The token names no subject (oid or sub).");
        const roles = Array.isArray(payload["roles"])
          ? payload["roles"].filter((r): r is string => typeof r === "string")
          : [];
        const name =
          typeof payload["preferred_username"] === "string"
            ? payload["preferred_username"]
            : typeof payload["name"] === "string"
              ? payload["name"]
              : undefined;
        const tid = typeof payload["tid"] === "string" ? payload["tid"] : undefined;
        return { id, roles, ...(name ? { name } : {}), ...(tid ? { tenantId: tid } : {}) };
      } catch (e) {
        if (e instanceof AuthError) throw e;
        if (e instanceof errors.JWTExpired) throw invalid("The token has expired.", "TokenExpired");
        if (e instanceof errors.JWTClaimValidationFailed) {
          if (e.claim === "aud")
            throw invalid(`The token's audience is not ${options.audience}.`, "InvalidAudience");
          if (e.claim === "iss")
            throw invalid("The token was not issued by the configured tenant.", "InvalidIssuer");
          if (e.claim === "nbf") throw invalid("The token is not valid yet.");
          throw invalid(`The token's "${e.claim}" claim is invalid.`);
        }
        if (e instanceof errors.JWSSignatureVerificationFailed)
          throw invalid("The token's signature is not valid.", "InvalidSignature");
        if (e instanceof errors.JWKSNoMatchingKey)
          throw invalid("The token is signed with a key the tenant does not publish.", "InvalidSignature");
        if (e instanceof errors.JOSEAlgNotAllowed)
          throw invalid("The token's signing algorithm is not accepted.", "InvalidSignature");
        if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) {
          throw new AuthError(
            503,
            "KeysUnavailable",
            "The tenant's signing keys could not be loaded; try again shortly.",
          );
        }
        if (e instanceof errors.JOSEError) throw invalid("The bearer token is malformed.");
        throw e;
      }
    },
  };
}

function invalid(message: string, code = "InvalidToken"): AuthError {
  return new AuthError(401, code, message, {
    fix,
    headers: {
      "www-authenticate": `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`,
    },
  });
}
