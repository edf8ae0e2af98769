import type { InvocationContext, Timer } from "@azure/functions";
import { getConfig, settings } from "../lib/config/index.js";
import { loggerFromContext } from "../lib/logger.js";
import { declareTimer } from "./registry.js";

/** Daily compliance sweep (PGFLEX_SWEEP_SCHEDULE): records a sweep and fans its units out on `sweep-scopes`. */
export async function sweepTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const { getApp } = await import("../lib/app.js");
  const summary = await (await getApp()).compliance.sweeper.startSweep({ cause: "timer" });
  loggerFromContext(context).info(
    `Sweep ${summary.id} started over ${summary.subscriptionIds.length} subscription(s) in ${summary.scopeUnits.length} unit(s).`,
  );
}

declareTimer("sweepTimer", { schedule: schedule(), handler: sweepTimer });

/** The configured schedule; the default when configuration is incomplete (the first run reports the problem). */
function schedule(): string {
  try {
    return getConfig().sweepSchedule;
  } catch {
    return settings.sweepSchedule.defaultValue;
  }
}
