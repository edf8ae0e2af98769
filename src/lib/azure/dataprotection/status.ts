/**
 * The service is inconsistent about casing (`Inprogress` for operations, `InProgress` for jobs), so statuses
 * are always compared case-insensitively.
 */
export function statusIs(actual: string | undefined | null, expected: string): boolean {
  return typeof actual === "string" && actual.toLowerCase() === expected.toLowerCase();
}

export type JobOutcome = "Completed" | "CompletedWithWarnings" | "Failed" | "Cancelled";

/** The normalised end state of a job, or undefined while it runs (InProgress, Cancelling, unknown). */
export function jobOutcome(status: string | undefined | null): JobOutcome | undefined {
  switch (status?.toLowerCase()) {
    case "completed":
      return "Completed";
    case "completedwithwarnings":
      return "CompletedWithWarnings";
    case "failed":
      return "Failed";
    case "cancelled":
    case "canceled":
      return "Cancelled";
    default:
      return undefined;
  }
}
