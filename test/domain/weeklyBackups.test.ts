import { describe, expect, it } from "vitest";
import { assessWeek, shortestGapInMs, weekStart, type WeekJob } from "../../src/lib/domain/weeklyBackups.js";

const now = new Date("2026-12-03T12:00:00.000Z"); // a Thursday
const job = (startTime: string, status: string, extra: Partial<WeekJob> = {}): WeekJob => ({
  jobId: `job-${startTime}`,
  startTime,
  status,
  origin: "api",
  ...extra,
});

describe("one vaulted backup a week", () => {
  it("counts weeks from Sunday 00:00 UTC", () => {
    expect(weekStart(now).toISOString()).toBe("2026-11-29T00:00:00.000Z");
    expect(weekStart(new Date("2026-11-29T00:00:00.000Z")).toISOString()).toBe("2026-11-29T00:00:00.000Z");
    expect(weekStart(new Date("2026-11-28T23:59:59.999Z")).toISOString()).toBe("2026-11-22T00:00:00.000Z");
  });

  it("names the week's first running or successful backup, ignoring failed, cancelled and restore jobs", () => {
    const week = assessWeek(
      [
        job("2026-11-28T02:00:00Z", "Completed"), // last week
        job("2026-11-30T02:00:00Z", "Failed"),
        job("2026-11-30T03:00:00Z", "Canceled"),
        job("2026-11-30T04:00:00Z", "Completed", { operation: "Restore" }),
        job("2026-12-01T09:00:00Z", "CompletedWithWarnings"),
        job("2026-12-02T09:00:00Z", "InProgress"),
      ],
      now,
    );
    expect(week.taken?.startTime).toBe("2026-12-01T09:00:00Z");
    expect(week.nextPossibleAt.toISOString()).toBe("2026-12-06T00:00:00.000Z");
  });

  it("expects the policy's backup a whole number of weeks after its last one, when that falls in this week", () => {
    const lastFriday = job("2026-11-27T02:00:00Z", "Completed", { origin: "policy" });
    expect(assessWeek([lastFriday], now).scheduledAt?.toISOString()).toBe("2026-12-04T02:00:00.000Z");
    // Last Monday's policy backup is next due Monday: next week, so nothing is in the way now.
    const lastMonday = job("2026-11-23T02:00:00Z", "Completed", { origin: "policy" });
    expect(assessWeek([lastMonday], now)).toEqual({
      weekStart: new Date("2026-11-29T00:00:00.000Z"),
      nextPossibleAt: new Date("2026-12-06T00:00:00.000Z"),
    });
  });

  it("finds how close a schedule's runs come, to refuse schedules more frequent than weekly", () => {
    expect(shortestGapInMs("0 0 1 * * *")).toBe(86_400_000);
    expect(shortestGapInMs("0 0 1 * * 6")).toBe(7 * 86_400_000);
    expect(shortestGapInMs("0 0 1 1,3 * *")).toBe(2 * 86_400_000);
    expect(shortestGapInMs("0 0 0 1 1 *")).toBeGreaterThan(7 * 86_400_000);
  });
});
