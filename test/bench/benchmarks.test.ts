import { describe, expect, it } from "vitest";
import { benchmarks } from "../../bench/index.js";
import { runOne } from "../../bench/lib/runner.js";

/**
 * Benchmarks are not tests: no timing is asserted. Each runs once at its tiny size so none of them rots;
 * a benchmark whose capability is missing may answer "not available", never fail.
 */
describe("benchmarks at tiny size", () => {
  for (const benchmark of benchmarks) {
    it(`runs ${benchmark.name} to a report`, async () => {
      const lines: string[] = [];
      const result = await runOne(benchmark, { size: "tiny", log: (l) => lines.push(l) });
      expect(result.outcome, `${result.reason ?? ""}\n${lines.join("\n")}`).not.toBe("failed");
      if (result.outcome === "ok") {
        expect(result.metrics.length).toBeGreaterThan(0);
        for (const m of result.metrics) expect(Number.isFinite(m.value), m.name).toBe(true);
      }
    }, 120_000);
  }
});
