import type { InvocationContext, Timer } from "@azure/functions";
import { getConfig, settings } from "../lib/config/index.js";
import { loggerFromContext } from "../lib/logger.js";
import { declareTimer } from "./registry.js";

/** Starts the on-demand backups PGFLEX_SCHEDULED_BACKUPS has due, skipping servers with a running job. */
export async function scheduledBackups(_timer: Timer, context: InvocationContext): Promise<void> {
  const { getApp } = await import("../lib/app.js");
  const result = await (await getApp()).backups.scheduled.runDue();
  loggerFromContext(context).info(
    `Scheduled backups: due ${result.due.join(", ") || "none"}; started ${result.started.length}, skipped ${result.skipped.length}, failed ${result.failed.length}.`,
  );
}

declareTimer("scheduledBackups", { schedule: schedule(), handler: scheduledBackups });

/** The configured schedule; the default when configuration is incomplete (the first run reports the problem). */
function schedule(): string {
  try {
    return getConfig().scheduledBackupsCheckSchedule;
  } catch {
    return settings.scheduledBackupsCheckSchedule.defaultValue;
  }
}
