import { describe, expect, it } from "vitest";
import { compareRoutes, compileRoute } from "../../dev/host/routes.js";

describe("route templates", () => {
  it("binds every parameter of the backups route, decoded", () => {
    const route = compileRoute("servers/{subscriptionId}/{rg}/{name}/backups");
    expect(route.match("servers/1111/rg%20one/pg-1/backups")).toEqual({
      subscriptionId: "1111",
      rg: "rg one",
      name: "pg-1",
    });
  });

  it("matches literal segments case-insensitively", () => {
    expect(compileRoute("servers/{id}/Backups").match("SERVERS/a/backups")).toEqual({ id: "a" });
  });

  it("leaves an optional parameter out when the segment is absent", () => {
    const route = compileRoute("jobs/{id?}");
    expect(route.match("jobs")).toEqual({});
    expect(route.match("jobs/42")).toEqual({ id: "42" });
  });

  it("refuses extra segments and missing required ones", () => {
    const route = compileRoute("servers/{id}");
    expect(route.match("servers/a/b")).toBeUndefined();
    expect(route.match("servers")).toBeUndefined();
  });

  it("applies int and guid constraints", () => {
    expect(compileRoute("items/{n:int}").match("items/x")).toBeUndefined();
    expect(compileRoute("items/{n:int}").match("items/12")).toEqual({ n: "12" });
    expect(compileRoute("s/{id:guid}").match("s/11111111-1111-1111-1111-111111111111")).toEqual({
      id: "11111111-1111-1111-1111-111111111111",
    });
  });

  it("collects the rest of the path in a catch-all", () => {
    expect(compileRoute("files/{*path}").match("files/a/b/c.txt")).toEqual({ path: "a/b/c.txt" });
  });

  it("orders literals before parameters and a bare path before a catch-all, as ASP.NET does", () => {
    const templates = ["jobs/{*jobId}", "servers/{id}", "jobs", "servers/summary", "servers/{id:int}"];
    const sorted = templates.map(compileRoute).sort(compareRoutes);
    expect(sorted.map((r) => r.template)).toEqual([
      "jobs",
      "servers/summary",
      "servers/{id:int}",
      "servers/{id}",
      "jobs/{*jobId}",
    ]);
  });

  it("rejects a constraint it cannot honour", () => {
    expect(() => compileRoute("a/{x:regex}")).toThrow(
      'Route "a/{x:regex}": the constraint "regex" is not supported by the local host.',
    );
  });
});
