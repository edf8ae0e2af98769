import { describe, expect, it } from "vitest";
import { readBackupTag } from "../../src/lib/domain/backupTag.js";

describe("readBackupTag", () => {
  it("finds the tag whatever the casing and spacing of its name, and lower-cases the trimmed value", () => {
    expect(readBackupTag({ " BackUp ": " Weekly " }, "backup")).toEqual({ kind: "value", value: "weekly" });
  });

  it("is absent without tags or without the tag", () => {
    expect(readBackupTag(undefined, "backup")).toEqual({ kind: "absent" });
    expect(readBackupTag(null, "backup")).toEqual({ kind: "absent" });
    expect(readBackupTag({ owner: "team" }, "backup")).toEqual({ kind: "absent" });
  });

  it("names the defect of a malformed tag", () => {
    const cases: Array<[unknown, string]> = [
      [["backup"], "notAnObject"],
      [{ backup: 7 }, "notAString"],
      [{ backup: "weekly", BACKUP: "gold" }, "conflicting"],
      [{ backup: " " }, "empty"],
      [{ backup: "x".repeat(257) }, "tooLong"],
      [{ backup: "week\u0001ly" }, "unprintable"],
      [{ backup: "week\u007fly" }, "unprintable"],
      [{ backup: "week\u0085ly" }, "unprintable"],
      [{ backup: "week\u2028ly" }, "unprintable"],
    ];
    for (const [tags, defect] of cases) {
      expect(readBackupTag(tags, "backup"), defect).toMatchObject({ kind: "malformed", defect });
    }
  });
});
