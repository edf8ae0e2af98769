import { describe, expect, it } from "vitest";
import {
  canonicalJobStatus,
  isFinalKnownJobStatus,
  isKnownJobStatus,
  isSuccessJobStatus,
  isTerminalJobStatus,
} from "../../src/lib/domain/jobStatuses.js";

describe("job statuses", () => {
  it("treats both cancelled spellings as final in any casing", () => {
    for (const s of ["Cancelled", "Canceled", "CANCELED", "cancelled"]) {
      expect(isTerminalJobStatus(s)).toBe(true);
      expect(isFinalKnownJobStatus(s)).toBe(true);
      expect(isSuccessJobStatus(s)).toBe(false);
    }
  });

  it("keeps the service's spelling, fixing only the casing", () => {
    expect(canonicalJobStatus("canceled")).toBe("Canceled");
    expect(canonicalJobStatus("CANCELLED")).toBe("Cancelled");
    expect(canonicalJobStatus("inprogress")).toBe("InProgress");
    expect(canonicalJobStatus("Paused")).toBe("Paused");
  });

  it("does not end a job on a status it does not know", () => {
    expect(isKnownJobStatus("Paused")).toBe(false);
    expect(isTerminalJobStatus("Paused")).toBe(false);
    expect(isTerminalJobStatus("InProgress")).toBe(false);
  });

  it("counts Unknown (ours) as terminal but not final: a later sighting replaces it", () => {
    expect(isTerminalJobStatus("Unknown")).toBe(true);
    expect(isFinalKnownJobStatus("Unknown")).toBe(false);
  });
});
