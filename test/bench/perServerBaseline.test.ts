import { describe, expect, it } from "vitest";
import { runPerServerBaseline } from "../../bench/lib/perServerBaseline.js";

describe("runPerServerBaseline", () => {
  it("makes two ARM calls per existing server and one per missing server", async () => {
    const calls: string[] = [];
    const result = await runPerServerBaseline(
      {
        serverIds: ["/s/a", "/s/b", "/s/gone"],
        getServer: async (id) => {
          calls.push(`get ${id}`);
          return id === "/s/gone" ? undefined : { location: "westeurope" };
        },
        getBackupInstance: async (id, location) => {
          calls.push(`instance ${id} ${location}`);
          return id === "/s/a" ? { properties: {} } : undefined;
        },
      },
      { concurrency: 1 },
    );
    expect(calls).toEqual([
      "get /s/a",
      "instance /s/a westeurope",
      "get /s/b",
      "instance /s/b westeurope",
      "get /s/gone",
    ]);
    expect(result).toMatchObject({
      servers: 3,
      missing: 1,
      withInstance: 1,
      withoutInstance: 1,
      armRequests: 5,
    });
  });
});
