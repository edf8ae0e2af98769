import { describe, expect, it } from "vitest";
import { InvalidContinuationTokenError } from "../../src/lib/util/pageToken.js";
import {
  createListServerPager,
  createTableServerPager,
  decodeServerToken,
  encodeServerToken,
  type ServerPager,
} from "../../src/lib/store/serverPages.js";
import { createInMemoryServerStore } from "../../src/lib/store/servers.js";
import { useAzurite } from "../support/azurite.js";
import { aServer, aStorage, serverId } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();
const OTHER_SUB = "22222222-2222-2222-2222-222222222222";

async function seeded(kind: "table" | "memory"): Promise<ServerPager> {
  const rows = [
    aServer("pg-c"),
    aServer("pg-a"),
    aServer("pg-b", { state: "Failed" }),
    aServer("pg-z", { subscriptionId: OTHER_SUB, resourceId: serverId("pg-z", OTHER_SUB) }),
  ];
  if (kind === "memory") {
    const store = createInMemoryServerStore();
    for (const r of rows) await store.create(r);
    return createListServerPager(store);
  }
  const storage = aStorage(azurite.connectionString);
  for (const r of rows) await storage.servers.create(r);
  return createTableServerPager(storage.connection);
}

async function walk(pager: ServerPager, options: { maxPageSize: number; state?: "Protected" }) {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const page = await pager.listPage({ ...options, ...(token ? { continuationToken: token } : {}) });
    pages.push(page.items.map((s) => s.serverName));
    token = page.continuationToken;
  } while (token && pages.length < 10);
  return pages;
}

describe.each(["table", "memory"] as const)("server pages (%s)", (kind) => {
  it("pages every server once in key order and ends without a token", async () => {
    const pager = await seeded(kind);
    expect(await walk(pager, { maxPageSize: 2 })).toEqual([
      ["pg-a", "pg-b"],
      ["pg-c", "pg-z"],
    ]);
    expect(await walk(pager, { maxPageSize: 3 })).toEqual([["pg-a", "pg-b", "pg-c"], ["pg-z"]]);
  });

  it("keeps the filters across pages", async () => {
    const pager = await seeded(kind);
    expect(await walk(pager, { maxPageSize: 1, state: "Protected" })).toEqual([["pg-a"], ["pg-c"], ["pg-z"]]);
  });

  it("refuses a token that does not name a server", async () => {
    const pager = await seeded(kind);
    const forged = Buffer.from(JSON.stringify({ pk: "x' or 1 eq 1", rk: "a" })).toString("base64url");
    await expect(pager.listPage({ continuationToken: forged })).rejects.toThrow(
      new InvalidContinuationTokenError("The continuation token is not one this API returned."),
    );
  });
});

describe("server continuation tokens", () => {
  it("round-trip the keys of the last server", () => {
    const token = encodeServerToken({ resourceId: serverId("pg-a") });
    expect(decodeServerToken(token)).toEqual({
      partitionKey: "11111111-1111-1111-1111-111111111111",
      rowKey: Buffer.from(serverId("pg-a")).toString("base64url"),
    });
  });

  it.each([
    ["not base64url", "abc+/="],
    ["not JSON", Buffer.from("nope").toString("base64url")],
    ["the SDK's token shape", Buffer.from('{"nextPartitionKey":"a"}').toString("base64url")],
    [
      "a row key of another subscription",
      Buffer.from(
        JSON.stringify({ pk: OTHER_SUB, rk: Buffer.from(serverId("pg-a")).toString("base64url") }),
      ).toString("base64url"),
    ],
  ])("are refused when %s", (_name, token) => {
    expect(() => decodeServerToken(token)).toThrow("The continuation token is not one this API returned.");
  });
});
