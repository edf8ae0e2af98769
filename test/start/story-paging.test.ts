import { describe, expect, it } from "vitest";
import type { ApiClient } from "../../dev/start/api.js";
import { listAll, nextPagePath } from "../../dev/start/story.js";

/**
 * A paged list as the app's API answers it: `top` items a page, `continuationToken` and an absolute
 * `nextLink` (the request's URL, token set) while there is more. Records every path the client asked for.
 */
function pagedApi(items: string[], options: { nextLink?: boolean; repeat?: boolean } = {}) {
  const asked: string[] = [];
  const api: ApiClient = {
    async get<T>(path: string): Promise<T> {
      asked.push(path);
      const url = new URL(path, "https://app.example/api/");
      const top = Number(url.searchParams.get("top") ?? 1000);
      const start = options.repeat ? 0 : Number(url.searchParams.get("continuationToken") ?? 0);
      const value = items.slice(start, start + top);
      if (start + top >= items.length) return { value } as T;
      const continuationToken = String(start + top);
      url.searchParams.set("continuationToken", continuationToken);
      return {
        value,
        continuationToken,
        ...(options.nextLink === false ? {} : { nextLink: url.toString() }),
      } as T;
    },
    post: () => Promise.reject(new Error("not used")),
  };
  return { api, asked };
}

const names = Array.from({ length: 7 }, (_, i) => `pg-${i}`);

describe("reading the app's paged lists", () => {
  it("follows nextLink with a small top until the last page, keeping the filters", async () => {
    const { api, asked } = pagedApi(names);
    expect(await listAll(api, "servers?state=Protected&top=2")).toEqual(names);
    expect(asked).toEqual([
      "servers?state=Protected&top=2",
      "servers?state=Protected&top=2&continuationToken=2",
      "servers?state=Protected&top=2&continuationToken=4",
      "servers?state=Protected&top=2&continuationToken=6",
    ]);
  });

  it("follows the continuationToken on the same path when a page has no nextLink", async () => {
    const { api, asked } = pagedApi(names, { nextLink: false });
    expect(await listAll(api, "jobs?since=2026-11-18T00%3A00%3A00.000Z&top=3")).toEqual(names);
    expect(asked.slice(1)).toEqual([
      "jobs?since=2026-11-18T00%3A00%3A00.000Z&top=3&continuationToken=3",
      "jobs?since=2026-11-18T00%3A00%3A00.000Z&top=3&continuationToken=6",
    ]);
  });

  it("reads a list of one page with one request", async () => {
    const { api, asked } = pagedApi(names);
    expect(await listAll(api, "servers")).toEqual(names);
    expect(asked).toEqual(["servers"]);
  });

  it("stops with an error when the API hands back a next page it already gave", async () => {
    const { api } = pagedApi(names, { repeat: true });
    await expect(listAll(api, "servers?top=2")).rejects.toThrow(
      "GET /api/servers?top=2: the API returned the same next page twice (servers?top=2&continuationToken=2).",
    );
  });

  it("takes the nextLink's path and query only, and ignores one outside /api/", () => {
    expect(
      nextPagePath("servers", {
        continuationToken: "abc",
        nextLink: "https://elsewhere.example/api/servers?top=5&continuationToken=abc",
      }),
    ).toBe("servers?top=5&continuationToken=abc");
    expect(
      nextPagePath("servers?top=5", {
        continuationToken: "abc",
        nextLink: "https://proxy.example/pgflex/servers?top=5&continuationToken=abc",
      }),
    ).toBe("servers?top=5&continuationToken=abc");
    expect(nextPagePath("servers", {})).toBeUndefined();
  });
});
