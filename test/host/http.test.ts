import { connect } from "node:net";
import { HttpResponse, type HttpRequest } from "@azure/functions";
import { describe, expect, it } from "vitest";
import type { FunctionDeclaration } from "../../src/functions/registry.js";
import { startLocalHost } from "../../dev/host/index.js";
import { captureLogger, useLocalHost, waitFor } from "../support/localHost.js";

const seen: Array<{ params: Record<string, string>; query: string | null; body: string; method: string }> =
  [];

const fixtures: FunctionDeclaration[] = [
  {
    kind: "http",
    name: "startBackup",
    options: {
      methods: ["POST"],
      authLevel: "function",
      route: "servers/{subscriptionId}/{rg}/{name}/backups",
      handler: async (request: HttpRequest) => {
        seen.push({
          params: { ...request.params },
          query: request.query.get("dryRun"),
          body: await request.text(),
          method: request.method,
        });
        return {
          status: 202,
          jsonBody: { accepted: request.params.name },
          headers: { "x-request-id": "r-1" },
        };
      },
    },
  },
  {
    kind: "http",
    name: "listJobs",
    options: {
      methods: ["GET"],
      authLevel: "anonymous",
      route: "jobs/{id?}",
      handler: (request: HttpRequest) => ({ jsonBody: { id: request.params.id ?? null } }),
    },
  },
  {
    kind: "http",
    name: "parseBody",
    options: {
      methods: ["POST"],
      authLevel: "anonymous",
      route: "parse",
      handler: async (request: HttpRequest) => {
        try {
          return { jsonBody: { got: await request.json() } };
        } catch {
          return { status: 400, jsonBody: { error: "body is not JSON" } };
        }
      },
    },
  },
  {
    kind: "http",
    name: "cookies",
    options: {
      methods: ["GET"],
      authLevel: "anonymous",
      route: "cookies",
      handler: () =>
        new HttpResponse({
          status: 200,
          body: "hello",
          cookies: [{ name: "session", value: "a b", httpOnly: true, path: "/" }],
        }),
    },
  },
  { kind: "http", name: "defaults", options: { handler: () => ({ body: "default" }) } },
  {
    kind: "http",
    name: "adminOnly",
    options: {
      methods: ["GET"],
      authLevel: "admin",
      route: "admin-only",
      handler: () => ({ body: "secret" }),
    },
  },
  {
    kind: "http",
    name: "broken",
    options: {
      methods: ["GET"],
      authLevel: "anonymous",
      route: "broken",
      handler: () => {
        throw new Error("boom");
      },
    },
  },
];

describe("local host: HTTP triggers", () => {
  const host = useLocalHost(() => ({ declarations: fixtures, keys: { functionKey: "fk", masterKey: "mk" } }));
  const api = (path: string): string => `${host.url}/api/${path}`;

  it("binds route parameters, query and body and maps the response back", async () => {
    seen.length = 0;
    const res = await fetch(api("servers/sub-1/rg-1/pg-1/backups?dryRun=true"), {
      method: "POST",
      headers: { "x-functions-key": "fk" },
      body: "go",
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("x-request-id")).toBe("r-1");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ accepted: "pg-1" });
    expect(seen).toEqual([
      {
        params: { subscriptionId: "sub-1", rg: "rg-1", name: "pg-1" },
        query: "true",
        body: "go",
        method: "POST",
      },
    ]);
  });

  it("accepts the key in the code query parameter, and the master key for function level", async () => {
    const byCode = await fetch(api("servers/s/r/n/backups?code=fk"), { method: "POST" });
    const byMaster = await fetch(api("servers/s/r/n/backups"), {
      method: "POST",
      headers: { "x-functions-key": "mk" },
    });
    expect([byCode.status, byMaster.status]).toEqual([202, 202]);
  });

  it("answers 401 with a one-line reason when the key is missing or wrong", async () => {
    const missing = await fetch(api("servers/s/r/n/backups"), { method: "POST" });
    expect(missing.status).toBe(401);
    expect(await missing.text()).toBe(
      "Missing key: send a function key in the x-functions-key header or the code query parameter.",
    );
    const wrong = await fetch(api("servers/s/r/n/backups?code=nope"), { method: "POST" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toBe("The key sent is not valid here: this endpoint needs a function key.");
  });

  it("requires the master key at admin level", async () => {
    expect((await fetch(api("admin-only?code=fk"))).status).toBe(401);
    const res = await fetch(api("admin-only?code=mk"));
    expect([res.status, await res.text()]).toEqual([200, "secret"]);
  });

  it("serves an optional route parameter with and without its segment", async () => {
    expect(await (await fetch(api("jobs"))).json()).toEqual({ id: null });
    expect(await (await fetch(api("jobs/7"))).json()).toEqual({ id: "7" });
  });

  it("answers 404 for an unknown path and for a method the function does not accept", async () => {
    const unknown = await fetch(api("nothing/here"));
    expect([unknown.status, await unknown.text()]).toEqual([
      404,
      "No function serves the path /nothing/here.",
    ]);
    const wrongMethod = await fetch(api("jobs"), { method: "DELETE" });
    expect([wrongMethod.status, await wrongMethod.text()]).toEqual([
      404,
      "No function serves DELETE at this path; it accepts GET.",
    ]);
  });

  it("lets the handler judge a non-JSON body", async () => {
    const res = await fetch(api("parse"), { method: "POST", body: "{not json" });
    expect([res.status, await res.json()]).toEqual([400, { error: "body is not JSON" }]);
  });

  it("refuses a body over 1 MiB with 413 before the handler runs", async () => {
    const res = await fetch(api("parse"), { method: "POST", body: "x".repeat(1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    expect(await res.text()).toBe("Request body is larger than the local host's limit of 1048576 bytes.");
  });

  it("sends cookies as Set-Cookie headers", async () => {
    const res = await fetch(api("cookies"));
    expect(res.headers.getSetCookie()).toEqual(["session=a%20b; Path=/; HttpOnly"]);
    expect(await res.text()).toBe("hello");
  });

  it("answers 500 without details when the handler throws, and keeps serving", async () => {
    const res = await fetch(api("broken"));
    expect([res.status, await res.text()]).toEqual([
      500,
      "Exception while executing function: Functions.broken.",
    ]);
    expect(host.log).toContainEqual(
      expect.stringMatching(/^error: Executed 'Functions.broken' \(Failed, .*\): Error: boom$/),
    );
    expect((await fetch(api("jobs"))).status).toBe(200);
  });

  it("survives a client that hangs up mid-body and a request line it cannot parse", async () => {
    const { port } = new URL(host.url);
    await new Promise<void>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: Number(port) }, () => {
        socket.write('POST /api/parse HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"partial":');
        setTimeout(() => socket.destroy(), 20);
      });
      socket.on("close", () => resolve());
      socket.on("error", () => undefined);
    });
    const garbage = await new Promise<string>((resolve) => {
      let out = "";
      const socket = connect({ host: "127.0.0.1", port: Number(port) }, () =>
        socket.write("NOT HTTP\r\n\r\n"),
      );
      socket.on("data", (c) => (out += c.toString()));
      socket.on("close", () => resolve(out));
      socket.on("error", () => resolve(out));
    });
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(api("jobs"))).status).toBe(200);
  });

  it("applies the @azure/functions defaults: route = name, GET and POST, anonymous", async () => {
    expect((await fetch(api("defaults"))).status).toBe(200);
    expect((await fetch(api("defaults"), { method: "POST" })).status).toBe(200);
    const put = await fetch(api("defaults"), { method: "PUT" });
    expect([put.status, await put.text()]).toEqual([
      404,
      "No function serves PUT at this path; it accepts GET, POST.",
    ]);
  });

  it("answers 404 outside the route prefix", async () => {
    const res = await fetch(`${host.url}/elsewhere`);
    expect([res.status, await res.text()]).toEqual([404, "No function serves the path /elsewhere."]);
  });
});

describe("local host: graceful stop", () => {
  it("lets a running HTTP invocation answer, then refuses new connections", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    const host = await startLocalHost({
      port: 0,
      logger: captureLogger(),
      declarations: [
        {
          kind: "http",
          name: "slow",
          options: {
            authLevel: "anonymous",
            route: "slow",
            handler: async () => {
              entered = true;
              await gate;
              return { body: "done" };
            },
          },
        },
      ],
    });
    const pending = fetch(`${host.url}/api/slow`);
    await waitFor(() => (entered ? true : undefined), "the handler to start");
    const stopping = host.stop();
    release();
    const res = await pending;
    expect([res.status, await res.text()]).toEqual([200, "done"]);
    await stopping;
    await expect(fetch(`${host.url}/api/slow`)).rejects.toThrow();
  });
});
