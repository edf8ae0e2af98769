import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type JWK } from "jose";

export const TENANT = "33333333-3333-4333-8333-333333333333";
export const AUDIENCE = "api://pgflex-autoprotect";
export const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;

export interface TokenClaims {
  roles?: string[];
  aud?: string;
  iss?: string;
  tid?: string;
  expiresInSeconds?: number;
  notBeforeInSeconds?: number;
}

export interface TokenIssuer {
  /** JWKS URL the app is pointed at (PGFLEX_AUTH_JWKS_URI). */
  jwksUri: string;
  mint(claims?: TokenClaims, options?: { foreignKey?: boolean; alg?: "RS256" | "HS256" }): Promise<string>;
  stop(): Promise<void>;
}

let shared: Promise<TokenIssuer> | undefined;

/**
 * A loopback stand-in for the tenant's signing keys: a JWKS endpoint and a minter (plus a foreign key).
 * One per process, never stopped (unref'd): the app caches the JWKS it fetched, so every world of a
 * process must present the same keys at the same URL.
 */
export function startTokenIssuer(): Promise<TokenIssuer> {
  shared ??= createTokenIssuer();
  return shared;
}

async function createTokenIssuer(): Promise<TokenIssuer> {
  const own = await generateKeyPair("RS256", { extractable: true });
  const foreign = await generateKeyPair("RS256", { extractable: true });
  const jwk: JWK = { ...(await exportJWK(own.publicKey)), kid: "bench-key", alg: "RS256", use: "sig" };
  const server: Server = createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const port = (server.address() as AddressInfo).port;
  return {
    jwksUri: `http://127.0.0.1:${port}/discovery/v2.0/keys`,
    async mint(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      if (options.alg === "HS256") {
        return new SignJWT({ roles: claims.roles ?? ["Backup.Operator"], tid: claims.tid ?? TENANT })
          .setProtectedHeader({ alg: "HS256", kid: "bench-key" })
          .setIssuer(claims.iss ?? ISSUER)
          .setAudience(claims.aud ?? AUDIENCE)
          .setIssuedAt(now - 60)
          .setExpirationTime(now + 3600)
          .sign(new TextEncoder().encode("a-shared-secret-an-attacker-guessed-0123456789"));
      }
      return new SignJWT({
        roles: claims.roles ?? ["Backup.Reader"],
        oid: "44444444-4444-4444-8444-444444444444",
        tid: claims.tid ?? TENANT,
      })
        .setProtectedHeader({ alg: "RS256", kid: "bench-key", typ: "JWT" })
        .setIssuer(claims.iss ?? ISSUER)
        .setAudience(claims.aud ?? AUDIENCE)
        .setSubject("bench-subject")
        .setIssuedAt(now - 60)
        .setNotBefore(now + (claims.notBeforeInSeconds ?? -60))
        .setExpirationTime(now + (claims.expiresInSeconds ?? 3600))
        .sign(options.foreignKey ? foreign.privateKey : own.privateKey);
    },
    stop: async () => undefined,
  };
}
