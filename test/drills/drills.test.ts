import { describe, expect, it } from "vitest";
import { drills } from "../../drills/index.js";
import { runOne } from "../../bench/lib/runner.js";

/** The fault drills at their small size: every invariant must hold. */
describe("fault drills at small size", () => {
  for (const drill of drills) {
    it(`keeps every promise in the ${drill.name} drill`, async () => {
      const lines: string[] = [];
      const result = await runOne(drill, { size: "tiny", log: (l) => lines.push(l) });
      const broken = (result.checks ?? []).filter((c) => !c.passed);
      expect(broken, lines.join("\n")).toEqual([]);
      expect(result.outcome, `${result.reason ?? ""}\n${lines.join("\n")}`).toBe("ok");
      expect(result.checks?.length).toBeGreaterThan(0);
    }, 300_000);
  }
});
