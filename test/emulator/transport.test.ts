import { describe, expect, it } from "vitest";
import { raw, serverPath, useCoreEmulator, SUB_A, ALPHA_DB } from "./helpers.js";

const SERVER = serverPath(SUB_A, "rg-one", "alpha-db");

describe("ARM transport and bad input", () => {
  const emulator = useCoreEmulator({ maxBodyBytes: 1024, seed: { servers: [ALPHA_DB] } });

  it("answers 401 AuthenticationFailed without a bearer token", async () => {
    const response = await raw(emulator, "GET", `${SERVER}?api-version=2025-08-01`, { bearer: null });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      error: {
        code: "AuthenticationFailed",
        message: "Authentication failed. The 'Authorization' header is missing.",
      },
    });
    expect(String(response.headers["www-authenticate"])).toContain("Bearer");
  });

  it("answers 401 for an expired JWT", async () => {
    const payload = Buffer.from(JSON.stringify({ oid: "a", exp: 1 })).toString("base64url");
    const response = await raw(emulator, "GET", `${SERVER}?api-version=2025-08-01`, {
      bearer: `e30.${payload}.sig`,
    });
    expect(response.status).toBe(401);
    expect((response.body as { error: { code: string } }).error.code).toBe("ExpiredAuthenticationToken");
  });

  it("requires api-version", async () => {
    const response = await raw(emulator, "GET", SERVER);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: {
        code: "MissingApiVersionParameter",
        message: "The api-version query parameter (?api-version=) is required for all requests.",
      },
    });
  });

  it("rejects an api-version the operation does not support", async () => {
    const response = await raw(emulator, "GET", `${SERVER}?api-version=2017-12-01`);
    expect(response.status).toBe(400);
    expect((response.body as { error: { code: string; message: string } }).error).toEqual({
      code: "InvalidApiVersionParameter",
      message:
        "The api-version '2017-12-01' is invalid. The supported versions are '2024-08-01,2025-06-01-preview,2025-08-01'.",
    });
  });

  it("answers InvalidResourceType for an unknown resource type", async () => {
    const response = await raw(
      emulator,
      "GET",
      `/subscriptions/${SUB_A}/resourceGroups/rg-one/providers/Microsoft.DBforPostgreSQL/singleServers/x?api-version=2025-08-01`,
    );
    expect(response.status).toBe(404);
    expect(response.body).toEqual({
      error: {
        code: "InvalidResourceType",
        message:
          "The resource type 'singleServers' could not be found in the namespace 'Microsoft.DBforPostgreSQL' for api version '2025-08-01'.",
      },
    });
  });

  it("answers InvalidSubscriptionId for a subscription id that is not a GUID", async () => {
    const response = await raw(
      emulator,
      "GET",
      `/subscriptions/not-a-guid/providers/Microsoft.DBforPostgreSQL/flexibleServers?api-version=2025-08-01`,
    );
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: {
        code: "InvalidSubscriptionId",
        message: "The provided subscription identifier 'not-a-guid' is malformed or invalid.",
      },
    });
  });

  it("answers InvalidRequestContent for malformed JSON", async () => {
    const response = await raw(emulator, "PATCH", `${SERVER}?api-version=2025-08-01`, { body: "{not json" });
    expect(response.status).toBe(400);
    expect((response.body as { error: { code: string } }).error.code).toBe("InvalidRequestContent");
  });

  it("answers 415 UnsupportedMediaType for a non-JSON content type", async () => {
    const response = await raw(emulator, "PATCH", `${SERVER}?api-version=2025-08-01`, {
      body: "tags=x",
      headers: { "content-type": "text/plain" },
    });
    expect(response.status).toBe(415);
    expect(response.body).toEqual({
      error: {
        code: "UnsupportedMediaType",
        message:
          "The content media type 'text/plain' is not supported. Only 'application/json' is supported.",
      },
    });
  });

  it("answers 413 for an oversized body", async () => {
    const response = await raw(emulator, "PATCH", `${SERVER}?api-version=2025-08-01`, {
      body: JSON.stringify({ tags: { big: "x".repeat(2048) } }),
    });
    expect(response.status).toBe(413);
    expect((response.body as { error: { code: string } }).error.code).toBe("RequestEntityTooLarge");
  });

  it("answers 405 for a method the resource does not support", async () => {
    const response = await raw(emulator, "POST", `${SERVER}?api-version=2025-08-01`, { body: "{}" });
    expect(response.status).toBe(405);
  });

  it("answers a body of the wrong shape with 400, not 500", async () => {
    const response = await raw(
      emulator,
      "PUT",
      `${serverPath(SUB_A, "rg-one", "beta-db")}?api-version=2025-08-01`,
      {
        body: "[1,2]",
      },
    );
    expect(response.status).toBe(400);
  });

  it("sends request ids and remaining-reads headers on every response", async () => {
    const response = await raw(emulator, "GET", `${SERVER}?api-version=2025-08-01`);
    expect(response.status).toBe(200);
    expect(response.headers["x-ms-request-id"]).toMatch(/^[0-9a-f-]{36}$/u);
    expect(Number(response.headers["x-ms-ratelimit-remaining-subscription-reads"])).toBeGreaterThan(0);
  });

  it("sends remaining-reads even on a request refused before throttling", async () => {
    const response = await raw(emulator, "GET", SERVER, { bearer: null });
    expect(response.status).toBe(401);
    expect(response.headers["x-ms-ratelimit-remaining-subscription-reads"]).toMatch(/^[0-9]+$/u);
  });

  it("sends remaining-writes on writes", async () => {
    const response = await raw(emulator, "PATCH", `${SERVER}?api-version=2025-08-01`, {
      body: '{"tags":{}}',
    });
    expect(response.headers["x-ms-ratelimit-remaining-subscription-writes"]).toBeDefined();
  });
});
