import { describe, expect, it } from "vitest";
import { protectNow } from "../../src/cli/protectNow.js";
import type { CliServices } from "../../src/cli/services.js";
import type { ProcessOutcome } from "../../src/lib/protection/worker.js";
import type { ProtectionMessage } from "../../src/lib/protection/queueMessages.js";

const SERVER =
  "/subscriptions/11111111-1111-4111-8111-111111111111/resourcegroups/rg/providers/microsoft.dbforpostgresql/flexibleservers/pg-one";

/** A worker that walks through `steps`, re-enqueueing with the given delay until the last one. */
function aWorker(steps: Array<{ state: string; delayInMs?: number }>) {
  const seen: ProtectionMessage[] = [];
  const slept: number[] = [];
  let state = "Pending";
  const services: Pick<CliServices, "protectionWorker"> = {
    protectionWorker() {
      const queued: Array<{ message: ProtectionMessage; delayInMs: number }> = [];
      return {
        queued,
        row: async () => ({ resourceId: SERVER, state }) as never,
        worker: {
          async process(message): Promise<ProcessOutcome> {
            seen.push(message);
            const step = steps[seen.length - 1] ?? { state: "Failed" };
            state = step.state;
            if (step.delayInMs === undefined) return { kind: "settled", state: step.state as never };
            queued.push({ message: { ...message, attempt: message.attempt + 1 }, delayInMs: step.delayInMs });
            return { kind: "requeued", state: step.state as never, delayInMs: step.delayInMs };
          },
          async recordPoison() {},
        },
      };
    },
  };
  return { services, seen, slept, sleep: async (ms: number) => void slept.push(ms) };
}

describe("protectNow", () => {
  it("follows the worker's retry-later messages until the server settles", async () => {
    const w = aWorker([
      { state: "Validating", delayInMs: 500 },
      { state: "Configuring", delayInMs: 250 },
      { state: "Protected" },
    ]);
    const progress: string[] = [];
    const result = await protectNow(w.services, SERVER, {
      sleep: w.sleep,
      onProgress: (s) => progress.push(s),
    });
    expect(result).toMatchObject({ state: "Protected", timedOut: false });
    expect(w.slept).toEqual([500, 250]);
    expect(progress).toEqual(["Validating", "Configuring", "Protected"]);
    expect(w.seen.map((m) => [m.resourceId, m.cause, m.attempt])).toEqual([
      [SERVER, { kind: "api", requestedBy: "cli" }, 0],
      [SERVER, { kind: "api", requestedBy: "cli" }, 1],
      [SERVER, { kind: "api", requestedBy: "cli" }, 2],
    ]);
  });

  it("gives up when the next retry would pass the deadline, reporting the state reached", async () => {
    const w = aWorker([{ state: "WaitingForServer", delayInMs: 60_000 }]);
    const result = await protectNow(w.services, SERVER, { sleep: w.sleep, timeoutInMs: 1_000 });
    expect(result).toMatchObject({ state: "WaitingForServer", timedOut: true });
    expect(w.slept).toEqual([]);
  });

  it("leaves a server that is not Ready to the next sweep when told not to follow it", async () => {
    const w = aWorker([{ state: "WaitingForServer", delayInMs: 10 }, { state: "Protected" }]);
    const result = await protectNow(w.services, SERVER, { sleep: w.sleep, followWaitingForServer: false });
    expect(result).toMatchObject({ state: "WaitingForServer", timedOut: true });
    expect(w.seen).toHaveLength(1);
  });
});
