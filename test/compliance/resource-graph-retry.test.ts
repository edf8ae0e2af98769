import { describe, expect, it } from "vitest";
import type { ArmClients } from "../../src/lib/azure/clients.js";
import { createResourceGraphQuery } from "../../src/lib/azure/inventory/armReaders.js";

/** A Resource Graph client whose first `failures` queries fail as a dropped keep-alive connection does. */
function flakyGraph(failures: number, error: () => Error) {
  let calls = 0;
  const clients = {
    resourceGraph: async () => ({
      resources: async () => {
        calls++;
        if (calls <= failures) throw error();
        return { data: [{ id: "/subscriptions/s/x" }], skipToken: "next" };
      },
    }),
  } as unknown as Pick<ArmClients, "resourceGraph">;
  return { clients, calls: () => calls };
}

const hangUp = () =>
  Object.assign(new Error("request to https://x/ failed, reason: socket hang up"), {
    name: "FetchError",
    code: "ECONNRESET",
  });

describe("Resource Graph queries", () => {
  it("are sent again when the connection drops under them (a read-only POST), and answer the page", async () => {
    const graph = flakyGraph(2, hangUp);
    const query = createResourceGraphQuery(graph.clients, { retryDelayInMs: 1 });
    await expect(query({ query: "resources", top: 1000 })).resolves.toEqual({
      data: [{ id: "/subscriptions/s/x" }],
      skipToken: "next",
    });
    expect(graph.calls()).toBe(3);
  });

  it("give up after 4 attempts with the connection error, and never resend after a refusal", async () => {
    const dropped = flakyGraph(10, hangUp);
    await expect(
      createResourceGraphQuery(dropped.clients, { retryDelayInMs: 1 })({ query: "q" }),
    ).rejects.toThrow("socket hang up");
    expect(dropped.calls()).toBe(4);
    const refused = flakyGraph(1, () =>
      Object.assign(new Error("Query is invalid."), { statusCode: 400, code: "BadRequest" }),
    );
    await expect(
      createResourceGraphQuery(refused.clients, { retryDelayInMs: 1 })({ query: "q" }),
    ).rejects.toThrow("Query is invalid.");
    expect(refused.calls()).toBe(1);
  });
});
