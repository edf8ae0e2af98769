import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mergeReports, renderMarkdown, writeReport, type Report } from "../../bench/lib/report.js";
import { runAll } from "../../bench/lib/runner.js";
import { compared, notAvailable, type Runnable } from "../../bench/lib/types.js";
import { bucketLowerBoundInSeconds } from "../../bench/burst.js";

const machine = { cpuModel: "Test CPU", cores: 2, memoryInGiB: 8, node: "v20.0.0", platform: "linux" };

function aReport(results: Report["results"]): Report {
  return {
    kind: "bench",
    command: "npm run bench",
    size: "tiny",
    startedAt: "2026-11-25T17:00:00.000Z",
    machine,
    results,
  };
}

describe("benchmark figures", () => {
  it("prints a ratio against the baseline and judges the target", () => {
    expect(
      compared({ name: "t", value: 30, unit: "s", baseline: 20, target: "≤ 1.25×" }, { atMost: 1.25 }),
    ).toEqual({
      name: "t",
      value: 30,
      unit: "s",
      baseline: 20,
      target: "≤ 1.25×",
      ratio: 1.5,
      met: false,
    });
  });

  it("turns a speed-up into baseline over value", () => {
    expect(
      compared({ name: "t", value: 2, unit: "s", baseline: 50 }, { higherIsBetter: true, atLeast: 20 }),
    ).toMatchObject({
      ratio: 25,
      met: true,
    });
  });

  it("leaves the ratio out when there is no baseline to divide by", () => {
    expect(compared({ name: "t", value: 2, unit: "s", baseline: 0 }, { atMost: 1 })).toEqual({
      name: "t",
      value: 2,
      unit: "s",
      baseline: 0,
    });
  });

  it("computes the ARM write-bucket lower bound from the documented 200 burst + 10/s", () => {
    expect(bucketLowerBoundInSeconds(2000, { burst: 200, perSecond: 10 })).toBe(180);
    expect(bucketLowerBoundInSeconds(150, { burst: 200, perSecond: 10 })).toBe(0);
  });
});

describe("report", () => {
  it("notes the machine and command and marks a missed target and a missing capability", () => {
    const md = renderMarkdown(
      aReport([
        {
          name: "a",
          title: "Alpha",
          outcome: "ok",
          metrics: [
            compared(
              { name: "Calls", value: 10, unit: "requests", baseline: 5, target: "≤ 1×" },
              { atMost: 1 },
            ),
          ],
          parameters: { servers: 3 },
          notes: ["why"],
          wallTimeInMs: 1500,
        },
        { name: "b", title: "Beta", ...notAvailable("no poller yet"), wallTimeInMs: 1 },
      ]),
    );
    expect(md).toContain("- Command: `npm run bench` (size: tiny)");
    expect(md).toContain("- Machine: 2 cores (Test CPU), 8 GiB memory, Node v20.0.0, linux");
    expect(md).toContain("| Calls | 10 requests | 5 requests | 2× | ≤ 1× ❌ missed | |");
    expect(md).toContain("Outcome: **not available**: no poller yet");
    expect(md).toContain("Parameters: servers=3");
  });

  it("writes the Markdown and JSON side by side", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bench-report-"));
    try {
      const paths = await writeReport(aReport([]), dir);
      expect(paths).toEqual({ markdown: join(dir, "bench-latest.md"), json: join(dir, "bench-latest.json") });
      expect(JSON.parse(await readFile(paths.json, "utf8"))).toMatchObject({ kind: "bench", machine });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refreshes only the sections a partial run produced and says which run made the others", () => {
    const section = (name: string, value: number) => ({
      name,
      title: name.toUpperCase(),
      outcome: "ok" as const,
      metrics: [{ name: "Time", value, unit: "s" }],
      parameters: {},
      notes: [],
      wallTimeInMs: 1,
    });
    const previous = aReport([section("burst", 263), section("sweep", 22.3)]);
    const partial = {
      ...aReport([{ ...section("sweep", 12.1), command: "npm run bench -- --only sweep" }]),
      command: "npm run bench -- --only sweep",
      startedAt: "2026-11-25T20:00:00.000Z",
    };

    const merged = mergeReports(previous, partial, ["coldStart", "burst", "sweep"]);

    expect(merged.results.map((r) => [r.name, r.metrics[0]?.value, r.command])).toEqual([
      ["burst", 263, "npm run bench"],
      ["sweep", 12.1, "npm run bench -- --only sweep"],
    ]);
    const md = renderMarkdown(merged);
    expect(md).toContain("- Command: `npm run bench -- --only sweep` (size: tiny)");
    expect(md).toContain("## BURST\n\nRun by `npm run bench` at 2026-11-25T17:00:00.000Z.");
    expect(md).not.toContain("## SWEEP\n\nRun by");
    expect(mergeReports(previous, { ...partial, size: "full" }, ["burst", "sweep"]).results).toHaveLength(1);
  });

  it("reports a benchmark that throws as failed and still runs the next", async () => {
    const boom: Runnable = {
      name: "boom",
      title: "Boom",
      run: () => Promise.reject(new Error("emulator gone")),
    };
    const fine: Runnable = { name: "fine", title: "Fine", run: async () => notAvailable("later") };
    const report = await runAll([boom, fine], { kind: "bench", size: "tiny", command: "x", log: () => {} });
    expect(report.results.map((r) => [r.name, r.outcome, r.reason])).toEqual([
      ["boom", "failed", "emulator gone"],
      ["fine", "not available", "later"],
    ]);
  });
});
