import { describe, expect, it } from "vitest";
import { createDeferredTelemetry } from "../../src/lib/telemetry/deferred.js";
import type { Telemetry } from "../../src/lib/telemetry/index.js";
import { anInMemoryTelemetry } from "./inMemory.js";

describe("telemetry that starts in the background", () => {
  it("keeps the counts made while the SDK loads and sends them once it is ready", async () => {
    const memory = anInMemoryTelemetry();
    let resolve!: (t: Telemetry) => void;
    const deferred = createDeferredTelemetry(new Promise<Telemetry>((r) => (resolve = r)));

    deferred.count("pgflex.arm.requests", {
      operation: "GET resourceGroups",
      status_class: "2xx",
      throttled: false,
    });
    const answer = await deferred.span("protection.read_server", {}, () => Promise.resolve(42));
    resolve(memory.telemetry);
    await deferred.ready;
    deferred.count("pgflex.arm.requests", {
      operation: "GET resourceGroups",
      status_class: "2xx",
      throttled: false,
    });
    await deferred.span("protection.validate", {}, () => Promise.resolve());

    expect(answer).toBe(42);
    expect((await memory.points("pgflex.arm.requests")).map((p) => p.value)).toEqual([2]);
    // A span begun before the SDK was ready ran untraced; later ones are traced.
    expect(memory.spans().map((s) => s.name)).toEqual(["protection.validate"]);
  });

  it("drops what it kept when the SDK fails to start, and the app's work still runs", async () => {
    const deferred = createDeferredTelemetry(Promise.reject(new Error("no credential")));
    deferred.count("pgflex.restore.jobs", { outcome: "Completed" });

    await deferred.ready;

    expect(await deferred.span("api GET jobs", {}, () => Promise.resolve("done"))).toBe("done");
  });
});
