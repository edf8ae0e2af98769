import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";

/** The app roles a development token can carry (see src/lib/auth/roles.ts). */
export type DevRole = "Backup.Reader" | "Backup.Operator" | "Backup.Restore";

export interface DevAuth {
  readonly tenantId: string;
  readonly audience: string;
  readonly issuer: string;
  /** Loopback JWKS the app verifies development tokens against (PGFLEX_AUTH_JWKS_URI). */
  readonly jwksUri: string;
  /** App settings that point the app at this key set. */
  readonly settings: Record<string, string>;
  /** A signed RS256 token for `role`, valid for `expiresInSeconds` (default 12 h). */
  mint(role: DevRole, options?: { expiresInSeconds?: number; name?: string }): Promise<string>;
  stop(): Promise<void>;
}

export const DEV_TENANT_ID = "33333333-3333-3333-3333-333333333333";
export const DEV_AUDIENCE = "api://pgflex-autoprotect";

/**
 * Local stand-in for Microsoft Entra ID: a fresh key pair per start, its public half served as a JWKS on
 * loopback, tokens signed with the private half. The app validates them exactly as it validates Entra ID
 * tokens (signature, issuer, audience, expiry), so no code path in src accepts anything unsigned.
 */
export async function startDevAuth(options: { tenantId?: string; audience?: string } = {}): Promise<DevAuth> {
  const tenantId = options.tenantId ?? DEV_TENANT_ID;
  const audience = options.audience ?? DEV_AUDIENCE;
  const issuer = `https://login.microsoftonline.com/${tenantId}/v2.0`;
  const kid = `pgflex-dev-${randomUUID().slice(0, 8)}`;
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] });
  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/discovery/v2.0/keys") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(jwks);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("Not found.");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  server.unref();
  const jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/discovery/v2.0/keys`;
  const sign = (key: CryptoKey, role: DevRole, expiresInSeconds: number, name: string) => {
    const now = Math.floor(Date.now() / 1000);
    const oid =
      role === "Backup.Operator"
        ? "0d0d0d0d-0000-4000-8000-00000000000f"
        : "0d0d0d0d-0000-4000-8000-00000000000e";
    return new SignJWT({ roles: [role], oid, tid: tenantId, preferred_username: name })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(oid)
      .setIssuedAt(now)
      .setNotBefore(now - 60)
      .setExpirationTime(now + expiresInSeconds)
      .sign(key);
  };
  return {
    tenantId,
    audience,
    issuer,
    jwksUri,
    settings: {
      PGFLEX_AUTH_TENANT_ID: tenantId,
      PGFLEX_AUTH_AUDIENCE: audience,
      PGFLEX_AUTH_ISSUER: issuer,
      PGFLEX_AUTH_JWKS_URI: jwksUri,
    },
    mint: (role, mintOptions = {}) =>
      sign(
        privateKey,
        role,
        mintOptions.expiresInSeconds ?? 12 * 3600,
        mintOptions.name ?? (role === "Backup.Operator" ? "local-operator" : "local-reader"),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
