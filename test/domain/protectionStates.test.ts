import { describe, expect, it } from "vitest";
import {
  InProgressStates,
  NeedsAttentionStates,
  ProtectionStates,
  RunEndedStates,
  SatisfiedStates,
  isProtectionState,
} from "../../src/lib/domain/protectionStates.js";

describe("protection state sets", () => {
  it("splits every state into in progress or run ended, never both", () => {
    expect([...InProgressStates, ...RunEndedStates].sort()).toEqual([...ProtectionStates].sort());
    expect(RunEndedStates.some((s) => InProgressStates.includes(s))).toBe(false);
  });

  it("never counts a state both as needing a person and as satisfied", () => {
    expect(NeedsAttentionStates.some((s) => SatisfiedStates.includes(s))).toBe(false);
    expect(SatisfiedStates.every((s) => RunEndedStates.includes(s))).toBe(true);
    expect(NeedsAttentionStates.every((s) => RunEndedStates.includes(s))).toBe(true);
  });

  it("recognises only the known states, case-sensitively as stored", () => {
    expect(isProtectionState("Protected")).toBe(true);
    expect(isProtectionState("protected")).toBe(false);
    expect(isProtectionState("Unknown")).toBe(false);
  });
});
