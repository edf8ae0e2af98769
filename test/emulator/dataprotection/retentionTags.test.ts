import { describe, expect, it } from "vitest";
import { scheduledRetentionTag } from "../../../dev/emulator/providers/dataprotection/retentionTags.js";
import type { JobRecord } from "../../../dev/emulator/providers/dataprotection/state.js";

/** The demo's long-term-retention policy: weekly backups, first of month and first of year kept longer. */
const ltrPolicy = {
  properties: {
    policyRules: [
      {
        objectType: "AzureBackupRule",
        name: "BackupWeekly",
        trigger: {
          objectType: "ScheduleBasedTriggerContext",
          schedule: { repeatingTimeIntervals: ["R/2024-01-07T02:00:00+00:00/P1W"] },
          taggingCriteria: [
            { isDefault: true, taggingPriority: 99, tagInfo: { tagName: "Default" } },
            {
              isDefault: false,
              taggingPriority: 20,
              tagInfo: { tagName: "Monthly" },
              criteria: [{ objectType: "ScheduleBasedBackupCriteria", absoluteCriteria: ["FirstOfMonth"] }],
            },
            {
              isDefault: false,
              taggingPriority: 10,
              tagInfo: { tagName: "Yearly" },
              criteria: [{ objectType: "ScheduleBasedBackupCriteria", absoluteCriteria: ["FirstOfYear"] }],
            },
          ],
        },
      },
    ],
  },
};

const job = (iso: string, status: JobRecord["status"] = "Completed"): JobRecord =>
  ({ startMs: Date.parse(iso), status, operation: "ScheduledBackup" }) as JobRecord;
const tag = (at: string, earlier: JobRecord[]) =>
  scheduledRetentionTag(ltrPolicy, earlier, Date.parse(at), 0);

describe("retention tags of scheduled backups", () => {
  it("tags the first backup of a year Yearly, the first of a month Monthly, the rest with the default tag", () => {
    expect(tag("2026-01-04T02:00:00Z", [])).toBe("Yearly");
    const january = [job("2026-01-04T02:00:00Z")];
    expect(tag("2026-01-11T02:00:00Z", january)).toBe("Default");
    expect(tag("2026-02-01T02:00:00Z", [...january, job("2026-01-25T02:00:00Z")])).toBe("Monthly");
  });

  it("does not count a failed backup: the next one is still the first of its month", () => {
    expect(
      tag("2026-03-08T02:00:00Z", [job("2026-01-04T02:00:00Z"), job("2026-03-01T02:00:00Z", "Failed")]),
    ).toBe("Monthly");
  });

  it("gives the default tag when the policy has no tagging criteria", () => {
    expect(scheduledRetentionTag(undefined, [], Date.parse("2026-01-04T02:00:00Z"), 0)).toBe("Default");
  });
});
