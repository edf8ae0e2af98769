import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./bicep.js";
import { hostSettings, type HostJson } from "../../dev/host/hostJson.js";

const ARM_WRITES_PER_SECOND = 10;

function read(path: string): string {
  return readFileSync(join(repoRoot, path), "utf8");
}

function maximumInstanceCount(): number {
  const match = /param maximumInstanceCount int = (\d+)/.exec(read("infra/app/function-app.bicep"));
  if (!match?.[1]) throw new Error("infra/app/function-app.bicep has no maximumInstanceCount default");
  return Number(match[1]);
}

describe("concurrency chosen from the fleet's ARM budget (docs/architecture.md)", () => {
  const hostJson = JSON.parse(read("host.json")) as HostJson;
  const settings = hostSettings(hostJson);
  const perInstance = settings.queues.batchSize + settings.queues.newBatchThreshold;

  it("states each instance's queue concurrency in host.json instead of relying on the host's default", () => {
    expect(hostJson.extensions?.queues?.newBatchThreshold).toBe(8);
    expect(perInstance).toBe(24);
  });

  it("admits every invocation queued on one subscription's write bucket well within functionTimeout", () => {
    const worstWaitInSeconds = (maximumInstanceCount() * perInstance) / ARM_WRITES_PER_SECOND;

    expect(worstWaitInSeconds).toBe(96);
    expect(worstWaitInSeconds).toBeLessThan(settings.functionTimeoutInMs / 1000 / 4);
  });
});
