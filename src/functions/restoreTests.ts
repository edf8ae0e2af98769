import type { InvocationContext, Timer } from "@azure/functions";
import { getConfig, settings } from "../lib/config/index.js";
import { loggerFromContext } from "../lib/logger.js";
import { declareTimer } from "./registry.js";

/** Starts the restore tests the plan has due (PGFLEX_RESTORE_TESTS; not registered when it is empty). */
export async function planRestoreTests(_timer: Timer, context: InvocationContext): Promise<void> {
  const { getApp } = await import("../lib/app.js");
  const run = await (await getApp()).restoreTests.service.run({ requestedBy: "schedule" });
  loggerFromContext(context).info(
    `Restore tests: started ${run.started.length} (${run.started.map((t) => t.serverName).join(", ") || "none"}), skipped ${run.skipped.length}.`,
  );
}

/** Moves running restore tests on (restore ended → inspect → verdict → alert) and deletes blobs that are due. */
export async function advanceRestoreTests(_timer: Timer, context: InvocationContext): Promise<void> {
  const { getApp } = await import("../lib/app.js");
  const judged = await (await getApp()).restoreTests.service.advance();
  if (judged) loggerFromContext(context).info(`Restore tests: ${judged} reached a verdict this cycle.`);
}

const planSchedule = configured((c) => c.restoreTests, "");
if (planSchedule) declareTimer("planRestoreTests", { schedule: planSchedule, handler: planRestoreTests });
// The restore tracker's cadence: a test moves on when its restore ends.
declareTimer("advanceRestoreTests", {
  schedule: configured((c) => c.pollSchedule, settings.pollSchedule.defaultValue),
  handler: advanceRestoreTests,
});

/** A configured value; the fallback when configuration is incomplete (the first run reports the problem). */
function configured(read: (config: ReturnType<typeof getConfig>) => string, fallback: string): string {
  try {
    return read(getConfig());
  } catch {
    return fallback;
  }
}
