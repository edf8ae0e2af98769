import type { InvocationContext, Timer } from "@azure/functions";
import { getConfig, settings } from "../lib/config/index.js";
import { loggerFromContext } from "../lib/logger.js";
import { declareTimer } from "./registry.js";

/** Follows every running restore to its end, then records the files it wrote and the rebuild commands. */
export async function trackRestores(_timer: Timer, context: InvocationContext): Promise<void> {
  const { getApp } = await import("../lib/app.js");
  const ended = await (await getApp()).restore.service.trackActive();
  if (ended) loggerFromContext(context).info(`Restores: ${ended} ended this cycle.`);
}

// Same schedule as the job poller: a restore is a job like a backup.
declareTimer("trackRestores", { schedule: schedule(), handler: trackRestores });

function schedule(): string {
  try {
    return getConfig().pollSchedule;
  } catch {
    return settings.pollSchedule.defaultValue;
  }
}
