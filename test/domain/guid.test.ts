import { describe, expect, it } from "vitest";
import { GUID_REGEX, isGuid } from "../../src/lib/domain/guid.js";

describe("isGuid", () => {
  it("accepts a GUID in any casing", () => {
    expect(isGuid("11111111-2222-4333-8444-555555555555")).toBe(true);
    expect(isGuid("ABCDEF12-3456-7890-ABCD-EF1234567890")).toBe(true);
  });

  it("refuses anything that is not exactly one GUID", () => {
    for (const value of [
      "",
      "11111111-2222-4333-8444-55555555555",
      "11111111222243338444555555555555",
      " 11111111-2222-4333-8444-555555555555",
      "11111111-2222-4333-8444-555555555555/x",
      "------------------------------------",
      "g1111111-2222-4333-8444-555555555555",
    ]) {
      expect(isGuid(value), value).toBe(false);
    }
  });

  it("offers the same check as a RegExp for validators that take one", () => {
    expect(GUID_REGEX.test("ABCDEF12-3456-7890-ABCD-EF1234567890")).toBe(true);
    expect(GUID_REGEX.test("not-a-guid")).toBe(false);
  });
});
