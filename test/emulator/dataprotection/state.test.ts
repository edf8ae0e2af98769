import { describe, expect, it } from "vitest";
import {
  durationInMs,
  isoDuration,
  nextOccurrence,
  weekStartMs,
} from "../../../dev/emulator/providers/dataprotection/state.js";

const week = 7 * 86_400_000;
const start = Date.parse("2024-01-07T02:00:00Z");

describe("schedule arithmetic", () => {
  it("finds the next weekly occurrence strictly after a time", () => {
    expect(nextOccurrence("R/2024-01-07T02:00:00+00:00/P1W", start - 1)).toBe(start);
    expect(nextOccurrence("R/2024-01-07T02:00:00+00:00/P1W", start)).toBe(start + week);
    expect(nextOccurrence("R/2024-01-07T02:00:00+00:00/P1W", start + 3 * week + 5)).toBe(start + 4 * week);
  });

  it("stops after the repetition count and rejects what is not an interval", () => {
    expect(nextOccurrence("R2/2024-01-07T02:00:00+00:00/P1W", start + week)).toBe(start + 2 * week);
    expect(nextOccurrence("R2/2024-01-07T02:00:00+00:00/P1W", start + 2 * week)).toBeUndefined();
    expect(nextOccurrence("2024-01-07T02:00:00Z/P1W", 0)).toBeUndefined();
    expect(nextOccurrence("R/2024-01-07T02:00:00Z/PT", 0)).toBeUndefined();
  });

  it("reads ISO durations and writes job durations like the service", () => {
    expect(durationInMs("P12W")).toBe(12 * week);
    expect(durationInMs("PT1H30M")).toBe(5_400_000);
    expect(durationInMs("12 weeks")).toBeUndefined();
    expect(isoDuration(735_822)).toBe("PT12M15.822S");
    expect(isoDuration(0)).toBe("PT0S");
  });
});

describe("weeks of the one-vaulted-backup-a-week limit", () => {
  it("starts weeks at 00:00 UTC on Sunday by default, or on the configured weekday", () => {
    const saturdayNight = Date.parse("2026-12-05T23:59:59Z");
    expect(new Date(weekStartMs(saturdayNight, 0)).toISOString()).toBe("2026-11-29T00:00:00.000Z");
    expect(new Date(weekStartMs(Date.parse("2026-12-06T00:00:00Z"), 0)).toISOString()).toBe(
      "2026-12-06T00:00:00.000Z",
    );
    expect(new Date(weekStartMs(saturdayNight, 1)).toISOString()).toBe("2026-11-30T00:00:00.000Z");
  });
});
