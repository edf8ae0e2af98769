import { describe, expect, it } from "vitest";
import { hostSettings, parseTimeSpan } from "../../dev/host/hostJson.js";

describe("host.json settings", () => {
  it("uses the real host's queue defaults when host.json says nothing", () => {
    expect(hostSettings({}).queues).toEqual({
      maxDequeueCount: 5,
      visibilityTimeoutInMs: 0,
      batchSize: 16,
      newBatchThreshold: 8,
      maxPollingIntervalInMs: 60_000,
      messageEncoding: "base64",
    });
    expect(hostSettings({}).routePrefix).toBe("api");
  });

  it("reads time spans with days and fractions", () => {
    expect(parseTimeSpan("00:00:10", "x")).toBe(10_000);
    expect(parseTimeSpan("1.02:03:04.5", "x")).toBe(((24 + 2) * 3600 + 3 * 60 + 4) * 1000 + 500);
  });

  it("names the setting when a time span is malformed", () => {
    expect(() => hostSettings({ extensions: { queues: { visibilityTimeout: "10s" } } })).toThrow(
      'host.json: extensions.queues.visibilityTimeout must be a time span such as 00:00:30, not "10s".',
    );
  });
});
