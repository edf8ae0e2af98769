import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createConcurrencyLimiter, mapWithConcurrency } from "../../src/lib/util/concurrency.js";

describe("mapWithConcurrency", () => {
  it("keeps at most `limit` calls in flight and returns results in input order", async () => {
    let running = 0;
    let most = 0;
    const results = await mapWithConcurrency([30, 10, 20, 0, 5], 2, async (n, index) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running--;
      return `${index}:${n}`;
    });
    expect(most).toBe(2);
    expect(results).toEqual(["0:30", "1:10", "2:20", "3:0", "4:5"]);
  });

  it("runs one at a time when the limit is zero or negative, and nothing for no items", async () => {
    const order: number[] = [];
    await mapWithConcurrency([1, 2, 3], 0, async (n) => {
      order.push(n);
      await nextTurn();
      order.push(-n);
    });
    expect(order).toEqual([1, -1, 2, -2, 3, -3]);
    expect(await mapWithConcurrency([], 4, async () => 1)).toEqual([]);
  });

  it("rejects with the first failure", async () => {
    await expect(
      mapWithConcurrency([1, 2], 2, async (n) => {
        if (n === 2) throw new Error("two failed");
      }),
    ).rejects.toThrow("two failed");
  });
});

describe("createConcurrencyLimiter", () => {
  it("runs at most `limit` tasks at once, the rest in the order they came", async () => {
    const slot = createConcurrencyLimiter(2);
    const log: string[] = [];
    let running = 0;
    let most = 0;
    await Promise.all(
      ["a", "b", "c", "d"].map((name) =>
        slot(async () => {
          most = Math.max(most, ++running);
          log.push(`start ${name}`);
          await nextTurn();
          running--;
        }),
      ),
    );
    expect(most).toBe(2);
    expect(log).toEqual(["start a", "start b", "start c", "start d"]);
  });

  it("frees the slot of a task that fails", async () => {
    const slot = createConcurrencyLimiter(1);
    await expect(slot(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await slot(async () => "next")).toBe("next");
  });
});
