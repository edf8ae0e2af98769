import { describe, expect, it } from "vitest";
import { z } from "zod";
import { readJsonBody } from "../../src/lib/http/body.js";
import { ApiError, errorResponse, jsonResponse } from "../../src/lib/http/errors.js";
import { handleApi } from "../../src/lib/http/handler.js";
import type { ApiResponse } from "../../src/lib/http/types.js";
import { encodePageToken } from "../../src/lib/util/pageToken.js";
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

  it("says in words that a route takes no query parameters", () => {
    const e = (() => {
      try {
        return parseQuery(aRequest({ url: "http://h/api/servers/x?foo=1&code=abc" }), {});
      } catch (error) {
        return error as ApiError;
      }
    })() as ApiError;
    expect({ status: e.status, code: e.code, message: e.message, target: e.details.target }).toEqual({
      status: 400,
      code: "UnknownQueryParameter",
      message: 'Unknown query parameter "foo": this route takes no query parameters.',
      target: "foo",
    });
  });

  it.each([
    ["30 February", "2026-02-30T00:00:00Z"],
    ["29 February of a common year", "2025-02-29"],
    ["31 April", "2026-04-31T10:00:00+02:00"],
    ["hour 24", "2026-03-01T24:00:00Z"],
    ["minute 60", "2026-03-01T10:60Z"],
    ["second 60", "2026-03-01T10:00:60.5Z"],
    ["a zone offset of 24 hours", "2026-03-01T10:00:00+24:00"],
  ])("refuses a date that does not exist: %s", (_name, value) => {
    expect(q(`http://h/api/jobs?since=${encodeURIComponent(value)}`)).toBe(
      `Query parameter "since": "${value}" is not a date and time that exists (e.g. 2026-01-31T00:00:00Z).`,
    );
  });

  it.each([
    ["29 February of a leap year", "2028-02-29T00:00:00Z", "2028-02-29T00:00:00.000Z"],
    ["a date alone (UTC)", "2026-12-31", "2026-12-31T00:00:00.000Z"],
    ["an offset that crosses midnight", "2026-03-01T00:30:00+01:00", "2026-02-28T23:30:00.000Z"],
    ["a negative offset", "2026-02-28T23:59:59.999-05:30", "2026-03-01T05:29:59.999Z"],
  ])("reads %s as the instant it names", (_name, value, iso) => {
    expect(
      (q(`http://h/api/jobs?since=${encodeURIComponent(value)}`) as { since: Date }).since.toISOString(),
    ).toBe(iso);
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

describe("continuation tokens", () => {
  // Built per call, so the other cases of this file still run where the parameter type is missing.
  const page = () => ({ continuationToken: queryParameters.continuationToken() });
  const refusal = async (token: string) =>
    handleApi(
      aRequest({ url: `http://h/api/x?continuationToken=${encodeURIComponent(token)}` }),
      {
        role: "Backup.Reader",
        authorize: async () => ({ id: "p", roles: ["Backup.Reader"] }) as never,
      },
      async ({ requestId }) =>
        jsonResponse(
          200,
          parseQuery(
            aRequest({ url: `http://h/api/x?continuationToken=${encodeURIComponent(token)}` }),
            page(),
          ),
          requestId,
        ),
    );

  it.each([
    ["not base64", "abc!"],
    ["base64 that is not JSON", "abc"],
    [
      "a Tables SDK token",
      Buffer.from(JSON.stringify({ nextPartitionKey: "' or '1'='1" })).toString("base64"),
    ],
    [
      "a token with another field",
      Buffer.from(JSON.stringify({ pk: "a", rk: "b", x: 1 })).toString("base64url"),
    ],
    ["keys with a quote", Buffer.from(JSON.stringify({ pk: "a'", rk: "b" })).toString("base64url")],
    ["padding added to a real token", `${encodePageToken({ partitionKey: "a", rowKey: "b" })}=`],
  ])("refuses %s with 400 InvalidContinuationToken before any store", async (_name, token) => {
    const res = await refusal(token);
    expect(res).toMatchObject({
      status: 400,
      jsonBody: {
        error: {
          code: "InvalidContinuationToken",
          message: "The continuation token is not one this API returned.",
          target: "continuationToken",
        },
      },
    });
  });

  it("passes a token this API made", async () => {
    const token = encodePageToken({ partitionKey: "20261125T030000000Z-1a2b3c4d", rowKey: "L3N1YnM" });
    expect((await refusal(token)).jsonBody).toEqual({ continuationToken: token });
  });
});

describe("handleApi", () => {
  const reader = async () => ({ id: "p", roles: ["Backup.Reader"] }) as never;
  const hardening = { "x-content-type-options": "nosniff", "cache-control": "no-store" };

  it.each<[string, () => Promise<ApiResponse>]>([
    ["a success", async () => jsonResponse(200, { ok: true }, "r")],
    ["a refusal", async () => Promise.reject(new ApiError(400, "Bad", '"<script>" is not allowed.'))],
    ["a bug", async () => Promise.reject(new Error("boom"))],
  ])("answers %s with nosniff and no-store", async (_name, operation) => {
    const res = await handleApi(aRequest(), { role: "Backup.Reader", authorize: reader }, operation);
    expect(res.headers).toMatchObject({ ...hardening, "content-type": "application/json" });
  });

  it("answers a refused token with nosniff and no-store", async () => {
    const res = await handleApi(
      aRequest(),
      {
        role: "Backup.Reader",
        authorize: async () => Promise.reject(new AuthError(401, "MissingToken", "No token.")),
      },
      async () => jsonResponse(200, {}, "r"),
    );
    expect(res).toMatchObject({ status: 401, headers: hardening });
  });

  it("logs a bug's stack through the invocation context, where the host's log file gets it", async () => {
    const lines: string[] = [];
    const fallback: string[] = [];
    const context = {
      trace: () => undefined,
      log: () => undefined,
      warn: () => undefined,
      error: (m: unknown) => void lines.push(String(m)),
    };
    const res = await handleApi(
      aRequest({ headers: { "x-request-id": "req-9" } }),
      {
        role: "Backup.Reader",
        authorize: reader,
        logger: { debug() {}, info() {}, warn() {}, error: (m: string) => void fallback.push(m) },
      },
      async () => Promise.reject(new Error("boom")),
      context,
    );
    expect(res.status).toBe(500);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Unhandled error in request req-9: Error: boom\n\s+at /);
    expect(fallback).toEqual([]);
  });
});
