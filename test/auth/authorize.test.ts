import { describe, expect, it } from "vitest";
import { createAuthorizer } from "../../src/lib/auth/authorize.js";
import { createTokenValidator } from "../../src/lib/auth/tokens.js";
import { AuthError } from "../../src/lib/auth/errors.js";
import { AUDIENCE, TENANT, aKeySet } from "../fixtures/jobs/tokens.js";
import { aRequest } from "../fixtures/jobs/requests.js";

async function setup() {
  const keySet = await aKeySet();
  const authorize = createAuthorizer(
    createTokenValidator({ tenantId: TENANT, audience: AUDIENCE, keys: keySet.keys }),
  );
  const attempt = async (
    token: string | undefined,
    role: "Backup.Reader" | "Backup.Operator",
    header?: string,
  ) => {
    try {
      await authorize(
        aRequest({ ...(token ? { token } : {}), ...(header ? { headers: { authorization: header } } : {}) }),
        role,
      );
      return undefined;
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      return { status: e.status, code: e.code, message: e.message };
    }
  };
  return { keySet, authorize, attempt };
}

describe("authorize", () => {
  it("accepts a reader token for a read and returns the caller", async () => {
    const { keySet, authorize } = await setup();
    const principal = await authorize(
      aRequest({ token: await keySet.mint({ roles: ["Backup.Reader"] }) }),
      "Backup.Reader",
    );
    expect(principal).toEqual({
      id: "44444444-4444-4444-4444-444444444444",
      roles: ["Backup.Reader"],
      tenantId: TENANT,
    });
  });

  it("lets an operator read too", async () => {
    const { keySet, attempt } = await setup();
    expect(await attempt(await keySet.mint({ roles: ["Backup.Operator"] }), "Backup.Reader")).toBeUndefined();
  });

  it("refuses a request without a token with 401", async () => {
    const { attempt } = await setup();
    expect(await attempt(undefined, "Backup.Reader")).toEqual({
      status: 401,
      code: "MissingToken",
      message: "The request has no bearer token.",
    });
  });

  it("refuses a non-bearer authorization header", async () => {
    const { attempt } = await setup();
    expect(await attempt(undefined, "Backup.Reader", "Basic dXNlcjpwYXNz")).toEqual({
      status: 401,
      code: "InvalidToken",
      message: "The Authorization header is not a bearer token.",
    });
  });

  it("refuses an expired token", async () => {
    const { keySet, attempt } = await setup();
    expect(await attempt(await keySet.mint({ expiresInSeconds: -3600 }), "Backup.Reader")).toEqual({
      status: 401,
      code: "TokenExpired",
      message: "The token has expired.",
    });
  });

  it("refuses a token signed with a key the tenant does not publish", async () => {
    const { keySet, attempt } = await setup();
    expect(await attempt(await keySet.mint({}, { signWithUnknownKey: true }), "Backup.Reader")).toEqual({
      status: 401,
      code: "InvalidSignature",
      message: "The token's signature is not valid.",
    });
  });

  it("refuses a token for another audience", async () => {
    const { keySet, attempt } = await setup();
    expect(await attempt(await keySet.mint({ aud: "api://someone-else" }), "Backup.Reader")).toEqual({
      status: 401,
      code: "InvalidAudience",
      message: "The token's audience is not api://pgflex-autoprotect.",
    });
  });

  it("refuses a token from another tenant's issuer", async () => {
    const { keySet, attempt } = await setup();
    expect(
      await attempt(
        await keySet.mint({ iss: "https://login.microsoftonline.com/other/v2.0" }),
        "Backup.Reader",
      ),
    ).toEqual({
      status: 401,
      code: "InvalidIssuer",
      message: "The token was not issued by the configured tenant.",
    });
  });

  it("refuses a reader token for a backup start with 403 naming the role", async () => {
    const { keySet, attempt } = await setup();
    expect(await attempt(await keySet.mint({ roles: ["Backup.Reader"] }), "Backup.Operator")).toEqual({
      status: 403,
      code: "MissingRole",
      message: "The caller does not have the app role Backup.Operator.",
    });
  });

  it("refuses a malformed token", async () => {
    const { attempt } = await setup();
    expect(await attempt("abc.def.ghi", "Backup.Reader")).toEqual({
      status: 401,
      code: "InvalidToken",
      message: "The bearer token is malformed.",
    });
  });
});
