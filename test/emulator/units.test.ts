import { describe, expect, it } from "vitest";
import { createClock } from "../../dev/emulator/core/clock.js";
import { matchesSubscriber, toCloudEvent, toEventGridEvent } from "../../dev/emulator/core/eventgrid.js";
import { createFaultInjector } from "../../dev/emulator/core/faults.js";
import { isScopeAncestorOrSelf, parseResourceId } from "../../dev/emulator/core/ids.js";
import type { RouteDefinition } from "../../dev/emulator/core/provider.js";
import { createRouter } from "../../dev/emulator/core/router.js";
import { createThrottler } from "../../dev/emulator/core/throttle.js";
import { parseAssignmentFilter } from "../../dev/emulator/providers/authorization/index.js";

const route = (method: RouteDefinition["method"], path: string, operationName: string): RouteDefinition => ({
  method,
  path,
  apiVersions: ["1"],
  operationName,
  handler: () => ({ status: 200 }),
});
const segments = (path: string): string[] => path.split("/").filter(Boolean);

describe("router", () => {
  const router = createRouter([
    route("GET", "{*scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "ByScope"),
    route(
      "GET",
      "/subscriptions/{subscriptionId}/providers/Microsoft.Authorization/roleAssignments/{name}",
      "Exact",
    ),
    route("PUT", "{*scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "Put"),
  ]);

  it("prefers an exact template over a scope wildcard", () => {
    const { matches } = router.match(
      segments("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a"),
      "GET",
    );
    expect(matches.map((m) => m.route.operationName)).toEqual(["Exact", "ByScope"]);
  });

  it("captures a multi-segment scope with its original casing", () => {
    const { matches } = router.match(
      segments("/subscriptions/s/resourceGroups/RG/providers/microsoft.authorization/ROLEASSIGNMENTS/a"),
      "PUT",
    );
    expect(matches[0]?.params).toEqual({ scope: "/subscriptions/s/resourceGroups/RG", name: "a" });
  });

  it("matches the root scope", () => {
    const { matches } = router.match(segments("/providers/Microsoft.Authorization/roleAssignments/a"), "PUT");
    expect(matches[0]?.params.scope).toBe("/");
  });

  it("tells a path of another method from an unknown path", () => {
    expect(router.match(segments("/providers/Microsoft.Authorization/roleAssignments/a"), "DELETE")).toEqual({
      matches: [],
      pathMatched: true,
    });
    expect(router.match(segments("/nothing/here"), "GET")).toEqual({ matches: [], pathMatched: false });
  });
});

describe("clock", () => {
  it("reports an emulator instant at the wall-clock time it passed, never ahead of the wall clock", () => {
    const startedAt = Date.parse("2026-01-05T21:00:00.000Z");
    const clock = createClock(120, startedAt);
    // Before the start (seeded history) times are as they are; after it, elapsed emulator time shrinks.
    expect(clock.reportedIso(startedAt - 3_600_000)).toBe("2026-01-05T20:00:00.000Z");
    expect(clock.reportedIso(startedAt + 120 * 60_000)).toBe("2026-01-05T21:01:00.000Z");
    // Now, whatever the emulator's own time has run to, is reported as the wall clock.
    const before = Date.now();
    const now = Date.parse(clock.nowIso());
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    expect(clock.reported(clock.now())).toBeLessThanOrEqual(Date.now());
  });
});

describe("throttler", () => {
  it("refills with emulator time and refuses when empty", () => {
    const clock = createClock(1);
    const throttler = createThrottler(clock, {
      enabled: true,
      reads: { burst: 2, perSecond: 1 },
      writes: { burst: 1, perSecond: 1 },
    });
    expect(throttler.take("s", "eastus", "read")).toMatchObject({ allowed: true, remaining: 1 });
    expect(throttler.take("s", "eastus", "read")).toMatchObject({ allowed: true, remaining: 0 });
    const refused = throttler.take("s", "eastus", "read");
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterInMs).toBeGreaterThan(0);
    expect(refused.retryAfterInMs).toBeLessThanOrEqual(1000);
    expect(throttler.take("s", "westeurope", "read").allowed).toBe(true);
    expect(throttler.take("s", "eastus", "write").allowed).toBe(true);
  });
});

describe("fault injector", () => {
  it("matches rules by operation, method and path, and stops after maxFaults", () => {
    const faults = createFaultInjector({
      rules: [
        {
          operation: "servers_get",
          method: "GET",
          pathContains: "/A-DB",
          errorRate500: 1,
          maxFaults: 2,
          latencyInMs: 5,
        },
      ],
    });
    expect(faults.decide("Servers_Get", "GET", "/x/a-db")).toEqual({ latencyInMs: 5, fault: "500" });
    expect(faults.decide("Servers_Get", "PUT", "/x/a-db")).toEqual({ latencyInMs: 0 });
    expect(faults.decide("Servers_List", "GET", "/x/a-db")).toEqual({ latencyInMs: 0 });
    expect(faults.decide("Servers_Get", "GET", "/x/a-db").fault).toBe("500");
    expect(faults.decide("Servers_Get", "GET", "/x/a-db")).toEqual({ latencyInMs: 5 });
  });
});

describe("resource ids and scopes", () => {
  it("parses a nested resource id", () => {
    expect(
      parseResourceId(
        "/subscriptions/S/resourcegroups/RG/providers/Microsoft.DBforPostgreSQL/flexibleServers/db",
      ),
    ).toEqual({
      subscriptionId: "S",
      resourceGroupName: "RG",
      provider: "Microsoft.DBforPostgreSQL",
      resourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
      name: "db",
    });
  });

  it("compares scopes segment-wise and case-insensitively", () => {
    expect(
      isScopeAncestorOrSelf(
        "/subscriptions/s/resourceGroups/rg",
        "/SUBSCRIPTIONS/S/resourcegroups/RG/providers/x/y/z",
      ),
    ).toBe(true);
    expect(
      isScopeAncestorOrSelf("/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg2"),
    ).toBe(false);
    expect(isScopeAncestorOrSelf("/", "/subscriptions/s")).toBe(true);
  });
});

describe("role assignment filters", () => {
  it("reads atScope(), principalId eq and assignedTo, and flags the rest", () => {
    expect(parseAssignmentFilter("atScope() and principalId eq 'p1'")).toEqual({
      atScope: true,
      principalId: "p1",
    });
    expect(parseAssignmentFilter("assignedTo('p2')")).toEqual({ atScope: false, principalId: "p2" });
    expect(parseAssignmentFilter("roleName eq 'x'")).toEqual({ atScope: false, invalid: "roleName eq 'x'" });
  });
});

describe("Event Grid events and filters", () => {
  const event = toEventGridEvent(
    {
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      subject: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/db",
      subscriptionId: "s",
      operationName: "Microsoft.DBforPostgreSQL/flexibleServers/write",
    },
    "id-1",
    "2026-01-01T00:00:00.000Z",
  );

  it("applies includedEventTypes, subject prefixes and advanced filters together", () => {
    expect(
      matchesSubscriber(
        { endpointUrl: "x", filter: { includedEventTypes: ["microsoft.resources.resourcewritesuccess"] } },
        event,
      ),
    ).toBe(true);
    expect(
      matchesSubscriber(
        { endpointUrl: "x", filter: { includedEventTypes: ["Microsoft.Resources.ResourceDeleteSuccess"] } },
        event,
      ),
    ).toBe(false);
    expect(
      matchesSubscriber(
        { endpointUrl: "x", filter: { subjectBeginsWith: "/subscriptions/s/resourcegroups/RG/" } },
        event,
      ),
    ).toBe(true);
    expect(
      matchesSubscriber(
        {
          endpointUrl: "x",
          filter: { subjectBeginsWith: "/subscriptions/s/resourcegroups/RG/", isSubjectCaseSensitive: true },
        },
        event,
      ),
    ).toBe(false);
    expect(
      matchesSubscriber(
        {
          endpointUrl: "x",
          filter: {
            advancedFilters: [
              {
                operatorType: "StringNotIn",
                key: "data.operationName",
                values: ["Microsoft.DBforPostgreSQL/flexibleServers/write"],
              },
            ],
          },
        },
        event,
      ),
    ).toBe(false);
    expect(matchesSubscriber({ endpointUrl: "x", topic: "/subscriptions/other" }, event)).toBe(false);
  });

  it("maps the Event Grid schema onto CloudEvents 1.0", () => {
    expect(toCloudEvent(event)).toEqual({
      source: "/subscriptions/s",
      subject: event.subject,
      type: "Microsoft.Resources.ResourceWriteSuccess",
      time: "2026-01-01T00:00:00.000Z",
      id: "id-1",
      data: event.data,
      specversion: "1.0",
    });
  });
});
