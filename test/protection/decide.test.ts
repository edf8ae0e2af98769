import { describe, expect, it } from "vitest";
import {
  backoffInMs,
  backupInstanceName,
  causeToString,
  createProtectionMessage,
  decideFromTags,
  parseCause,
  enqueueProtection,
  parseProtectionMessage,
  requiredRoles,
} from "../../src/lib/protection/index.js";
import { grantCommand, quoteTagValue } from "../../src/lib/protection/guidance.js";
import { createTtlCache } from "../../src/lib/protection/cache.js";
import { FakeQueue, serverId } from "./fakes.js";

const rules = {
  backupTag: "backup",
  policyMap: { "weekly-3m": "pgflex-weekly-3m", gold: "pgflex-gold" },
  optOutValues: ["none", "off"],
};

describe("decideFromTags", () => {
  it("maps a value to its policy, matching tag name and value case-insensitively", () => {
    expect(decideFromTags({ BACKUP: "Gold" }, rules)).toEqual({
      kind: "protect",
      tagValue: "Gold",
      policyName: "pgflex-gold",
    });
  });

  it("treats none and off as an opt-out and a missing tag as untagged", () => {
    expect(decideFromTags({ backup: " Off " }, rules)).toEqual({ kind: "optOut", tagValue: " Off " });
    expect(decideFromTags({ owner: "x" }, rules)).toEqual({ kind: "untagged" });
    expect(decideFromTags(undefined, rules)).toEqual({ kind: "untagged" });
  });

  it("lists the allowed values for an unknown value, and never maps inherited object keys", () => {
    expect(decideFromTags({ backup: "toString" }, rules)).toEqual({
      kind: "unknown",
      tagValue: "toString",
      allowed: ["gold", "weekly-3m", "none", "off"],
    });
  });
});

describe("decideFromTags on a malformed tag", () => {
  it("reads the tag as the compliance sweep does: twice with different values, or empty, is malformed", () => {
    expect(decideFromTags({ backup: "gold", BACKUP: "weekly-3m" }, rules)).toEqual({
      kind: "malformed",
      problem: 'tag "backup" appears 2 times with different values ("backup", "BACKUP")',
    });
    expect(decideFromTags({ backup: "  " }, rules)).toEqual({
      kind: "malformed",
      problem: 'tag "backup" is empty',
    });
  });

  it("keeps the value as written when the copies of the tag agree", () => {
    expect(decideFromTags({ backup: "Gold", BACKUP: "gold" }, rules)).toEqual({
      kind: "protect",
      tagValue: "Gold",
      policyName: "pgflex-gold",
    });
  });
});

describe("quoteTagValue", () => {
  it("replaces control characters and shortens long values", () => {
    expect(quoteTagValue("a\u0000b\nc")).toBe('"a?b?c"');
    expect(quoteTagValue("x".repeat(100))).toBe(JSON.stringify(`${"x".repeat(61)}...`));
  });
});

describe("requiredRoles and grantCommand", () => {
  it("asks for Reader on the resource group and the LTR role on the server", () => {
    const id = serverId("pg-one").toLowerCase();
    const [reader, ltr] = requiredRoles(id);
    expect(reader).toEqual({
      roleDefinitionGuid: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
      roleName: "Reader",
      scope: "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg-app",
    });
    expect(grantCommand("p-1", ltr!)).toBe(
      `az role assignment create --assignee-object-id p-1 --assignee-principal-type ServicePrincipal --role "PostgreSQL Flexible Server Long Term Retention Backup Role" --scope ${id}`,
    );
  });
});

describe("backupInstanceName", () => {
  it("is the server name and a UUID v5 of the lower-cased id, whatever the id's casing", () => {
    const name = backupInstanceName(serverId("pg-one"));
    expect(name).toMatch(/^pg-one-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(backupInstanceName(serverId("pg-one").toUpperCase())).toBe(name);
    expect(backupInstanceName(serverId("pg-two"))).not.toBe(name);
  });
});

describe("protection messages", () => {
  it("round-trips through base64 JSON as the queue carries it", () => {
    const message = createProtectionMessage(
      serverId("PG-One"),
      { kind: "sweep", sweepId: "s-1" },
      { now: new Date("2026-11-25T10:00:00Z") },
    );
    const text = Buffer.from(JSON.stringify(message)).toString("base64");
    expect(parseProtectionMessage(text)).toEqual(message);
    expect(message.resourceId).toBe(serverId("pg-one").toLowerCase());
    expect(causeToString(message.cause)).toBe("sweep:s-1");
  });

  it("rejects payloads that are not protection requests", () => {
    expect(parseProtectionMessage("{}")).toBeUndefined();
    expect(parseProtectionMessage("not base64 json")).toBeUndefined();
    expect(
      parseProtectionMessage({
        ...createProtectionMessage(serverId("pg-a1"), { kind: "api" }),
        resourceId: "/subscriptions/x",
      }),
    ).toBeUndefined();
    expect(() => createProtectionMessage("/subscriptions/x/resourceGroups/y", { kind: "api" })).toThrow(
      '"/subscriptions/x/resourceGroups/y" is not a PostgreSQL Flexible Server resource id.',
    );
  });

  it("enqueues one message with its cause and visibility", async () => {
    const queue = new FakeQueue();
    const sent = await enqueueProtection(
      queue,
      serverId("pg-one"),
      { kind: "api", requestedBy: "ops" },
      { visibilityTimeoutInMs: 5000 },
    );
    expect(queue.sent).toEqual([{ message: sent, options: { visibilityTimeoutInMs: 5000 } }]);
    expect(causeToString(sent.cause)).toBe("api:ops");
  });
});

describe("parseCause", () => {
  it("reads back every cause written by causeToString", () => {
    for (const cause of [
      { kind: "event", eventId: "e:1" },
      { kind: "sweep", sweepId: "s-1" },
      { kind: "api", requestedBy: "ops" },
      { kind: "api" },
    ] as const) {
      expect(parseCause(causeToString(cause))).toEqual(cause);
    }
    expect(parseCause("timer:x")).toBeUndefined();
  });
});

describe("backoffInMs", () => {
  it("doubles from the base up to the cap", () => {
    expect([0, 1, 2, 10].map((a) => backoffInMs(a, 1000, 5000))).toEqual([1000, 2000, 4000, 5000]);
  });
});

describe("TTL cache", () => {
  it("loads once for concurrent callers, keeps undefined answers, and expires", async () => {
    let t = 0;
    let loads = 0;
    const cache = createTtlCache<string | undefined>(100, () => t);
    const load = async () => {
      loads++;
      return undefined;
    };
    await Promise.all([cache.getOrLoad("k", load), cache.getOrLoad("k", load)]);
    await cache.getOrLoad("k", load);
    expect(loads).toBe(1);
    t = 101;
    await cache.getOrLoad("k", load);
    expect(loads).toBe(2);
  });

  it("does not keep a failed load", async () => {
    const cache = createTtlCache<number>(100, () => 0);
    await expect(cache.getOrLoad("k", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await cache.getOrLoad("k", async () => 7)).toBe(7);
  });
});
