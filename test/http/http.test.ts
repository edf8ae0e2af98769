import { describe, expect, it } from "vitest";
import { z } from "zod";
import { readJsonBody } from "../../src/lib/http/body.js";
import { ApiError, errorResponse } from "../../src/lib/http/errors.js";
import { parseQuery, queryParameters } from "../../src/lib/http/query.js";
import { requestIdOf } from "../../src/lib/http/requestId.js";
import { AuthError } from "../../src/lib/auth/errors.js";
import { aRequest } from "../fixtures/jobs/requests.js";

const schema = z.object({ reason: z.string().max(10).optional() }).strict();

async function bodyError(init: Parameters<typeof aRequest>[0]) {
  try {
    await readJsonBody(aRequest({ method: "POST", ...init }), schema, { optional: true });
    return undefined;
  } catch (e) {
    const err = e as ApiError;
    return { status: err.status, code: err.code, message: err.message };
  }
}

describe("readJsonBody", () => {
  it("refuses a body over 64 KiB with 413", async () => {
    expect(
      await bodyError({
        headers: { "content-type": "application/json" },
        body: `{"reason":"${"x".repeat(70_000)}"}`,
      }),
    ).toEqual({
      status: 413,
      code: "PayloadTooLarge",
      message: "The request body is larger than 64 KiB.",
    });
  });

  it("refuses a declared length over the limit before reading", async () => {
    expect(
      await bodyError({
        headers: { "content-type": "application/json", "content-length": "70000" },
        body: "{}",
      }),
    ).toMatchObject({ status: 413 });
  });

  it("refuses another content type with 415", async () => {
    expect(await bodyError({ headers: { "content-type": "text/plain" }, body: "{}" })).toEqual({
      status: 415,
      code: "UnsupportedMediaType",
      message: 'Content type "text/plain" is not supported; send application/json.',
    });
  });

  it("refuses malformed JSON", async () => {
    expect(await bodyError({ headers: { "content-type": "application/json" }, body: "{" })).toEqual({
      status: 400,
      code: "InvalidJson",
      message: "The request body is not valid JSON.",
    });
  });

  it("names an unknown field", async () => {
    expect(
      await bodyError({ headers: { "content-type": "application/json" }, body: '{"reson":"x"}' }),
    ).toEqual({
      status: 400,
      code: "UnknownField",
      message: "Unknown field(s) in the body: reson.",
    });
  });

  it("accepts an empty optional body", async () => {
    expect(await readJsonBody(aRequest({ method: "POST" }), schema, { optional: true })).toEqual({});
  });
});

describe("parseQuery", () => {
  const params = {
    status: queryParameters.oneOf(["Failed", "Completed"] as const),
    since: queryParameters.dateTime(),
  };
  const q = (url: string) => {
    try {
      return parseQuery(aRequest({ url }), params);
    } catch (e) {
      return (e as ApiError).message;
    }
  };

  it("refuses an unknown parameter", () => {
    expect(q("http://h/api/jobs?stauts=Failed")).toBe(
      'Unknown query parameter "stauts". Allowed: status, since.',
    );
  });

  it("refuses an OData expression in a value", () => {
    expect(q("http://h/api/jobs?status=Failed' or '1' eq '1")).toBe(
      'Query parameter "status": must be one of Failed, Completed.',
    );
  });

  it("parses allowed values and ignores the function key", () => {
    expect(q("http://h/api/jobs?status=failed&since=2026-11-01T00:00:00Z&code=abc")).toEqual({
      status: "Failed",
      since: new Date("2026-11-01T00:00:00Z"),
    });
  });
});

describe("errorResponse", () => {
  it("echoes the request id and keeps the stable shape", () => {
    const id = requestIdOf(aRequest({ headers: { "x-request-id": "req-123" } }));
    expect(
      errorResponse(
        new ApiError(409, "NotProtected", "Server x is not protected.", { target: "x", fix: "Tag it." }),
        id,
      ),
    ).toEqual({
      status: 409,
      headers: { "x-request-id": "req-123", "content-type": "application/json" },
      jsonBody: {
        error: { code: "NotProtected", message: "Server x is not protected.", target: "x", fix: "Tag it." },
      },
    });
  });

  it("hides internals of an unexpected error", () => {
    expect(errorResponse(new Error("secret detail"), "r1").jsonBody).toEqual({
      error: {
        code: "InternalError",
        message: "The request failed unexpectedly. Quote request id r1 when reporting it.",
      },
    });
  });

  it("answers a refused token with its status, challenge header and fix", () => {
    const refused = new AuthError(401, "MissingToken", "The request has no bearer token.", {
      fix: "Send a token.",
      headers: { "www-authenticate": 'Bearer realm="pgflex-autoprotect"' },
    });
    expect(errorResponse(refused, "r2")).toEqual({
      status: 401,
      headers: {
        "x-request-id": "r2",
        "content-type": "application/json",
        "www-authenticate": 'Bearer realm="pgflex-autoprotect"',
      },
      jsonBody: {
        error: { code: "MissingToken", message: "The request has no bearer token.", fix: "Send a token." },
      },
    });
  });

  it("replaces an unsafe caller request id", () => {
    expect(requestIdOf(aRequest({ headers: { "x-request-id": "bad id with spaces" } }))).not.toBe(
      "bad id with spaces",
    );
  });
});
