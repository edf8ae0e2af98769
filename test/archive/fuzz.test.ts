import { describe, expect, it } from "vitest";
import { judge, mutants, realArchives } from "../../drills/lib/archiveMutants.js";

/**
 * A seeded sample of the archive fuzz drill (`npm run drills`, drills/archiveFuzz.ts): the committed real
 * archives cut at every byte of the smallest one and at seeded offsets of the others, bytes flipped and
 * integers replaced by absurd ones. Every mutant inspects or fails with an ArchiveError inside the file.
 */
describe("fuzzing the inspector with mutants of real archives", () => {
  it("fails every one of at least 1,000 mutants cleanly, with an offset and a reason, or inspects it", async () => {
    const archives = await realArchives();
    const smallest = [...archives].sort((a, b) => a[1].length - b[1].length)[0]!;
    const plans = [
      {
        archives: new Map([smallest]),
        plan: { truncations: "all" as const, flipsPerArchive: 0, absurdPerArchive: 0, seed: 1 },
      },
      { archives, plan: { truncations: 40, flipsPerArchive: 60, absurdPerArchive: 40, seed: 20261205 } },
    ];
    const counts = { inspected: 0, "failed cleanly": 0, "bad failure": 0 };
    const bad: string[] = [];
    let total = 0;
    for (const { archives: set, plan } of plans)
      for (const mutant of mutants(set, plan)) {
        total++;
        const verdict = await judge(mutant);
        counts[verdict.outcome]++;
        if (verdict.outcome === "bad failure") bad.push(verdict.detail ?? mutant.label);
      }
    expect(bad.slice(0, 10)).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(1000);
    expect(counts["failed cleanly"]).toBeGreaterThan(total / 2);
  }, 120_000);
});
