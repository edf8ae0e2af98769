import type { Check, Runnable } from "../bench/lib/types.js";
import { judge, mutants, realArchives, type Mutant } from "./lib/archiveMutants.js";
import { outcomeOf } from "./lib/state.js";

/**
 * The archive inspector against damaged archives: mutants of the real pg_dump archives in
 * test/archive/fixtures (cut at every byte, bytes flipped, integers made absurd) are each inspected at the
 * `rows` level. None may crash, hang or grow memory: each inspects, or fails with an ArchiveError naming an
 * offset inside the file and a reason.
 */
export const archiveFuzz: Runnable = {
  name: "archiveFuzz",
  title: "Archive inspector fuzzing: truncated, flipped and absurd-length mutants of real pg_dump archives",
  async run({ size, log, abortSignal }) {
    const archives = await realArchives();
    const plan =
      size === "tiny"
        ? { truncations: 70, flipsPerArchive: 60, absurdPerArchive: 40, seed: 20261205 }
        : { truncations: "all" as const, flipsPerArchive: 2000, absurdPerArchive: 1000, seed: 20261205 };
    const counts = { inspected: 0, "failed cleanly": 0, "bad failure": 0 };
    const byKind = new Map<Mutant["kind"], number>();
    const bad: string[] = [];
    const startRss = process.memoryUsage.rss();
    let peakRss = startRss;
    let slowest = { label: "", ms: 0 };
    let total = 0;
    for (const mutant of mutants(archives, plan)) {
      abortSignal?.throwIfAborted();
      const started = performance.now();
      const verdict = await judge(mutant);
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { label: mutant.label, ms };
      total++;
      counts[verdict.outcome]++;
      byKind.set(mutant.kind, (byKind.get(mutant.kind) ?? 0) + 1);
      if (verdict.outcome === "bad failure") bad.push(verdict.detail ?? mutant.label);
      if (total % 500 === 0) {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        log(
          `${total} mutants: ${counts["failed cleanly"]} failed cleanly, ${counts.inspected} inspected, ${counts["bad failure"]} bad`,
        );
      }
    }
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    const growthMb = (peakRss - startRss) / 1024 / 1024;
    const checks: Check[] = [
      { name: "at least 1,000 mutants", passed: total >= 1000, detail: `${total} mutants` },
      {
        name: "every mutant inspects or fails with an ArchiveError (offset inside the file, reason, fix)",
        passed: bad.length === 0,
        detail: bad.length
          ? bad.slice(0, 5).join("; ")
          : `${counts["failed cleanly"]} failed cleanly, ${counts.inspected} inspected`,
      },
      {
        name: "memory stays bounded (resident memory grows less than 100 MB over the run)",
        passed: growthMb < 100,
        detail: `${growthMb.toFixed(1)} MB`,
      },
    ];
    return {
      outcome: outcomeOf(checks),
      checks,
      metrics: [
        { name: "Mutants", value: total, unit: "archives" },
        { name: "Failed cleanly", value: counts["failed cleanly"], unit: "archives" },
        { name: "Inspected (damage the format cannot see)", value: counts.inspected, unit: "archives" },
        { name: "Slowest mutant", value: Math.round(slowest.ms * 10) / 10, unit: "ms", note: slowest.label },
        { name: "Resident memory growth", value: Math.round(growthMb * 10) / 10, unit: "MB" },
      ],
      parameters: {
        archives: archives.size,
        truncations: plan.truncations,
        flipsPerArchive: plan.flipsPerArchive,
        absurdPerArchive: plan.absurdPerArchive,
        seed: plan.seed,
      },
      notes: [
        `Mutants by kind: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}.`,
        "A flipped byte inside uncompressed row text changes a value, not the structure: such mutants inspect, as they would restore.",
      ],
    };
  },
};
