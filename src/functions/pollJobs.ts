import type { InvocationContext, Timer } from "@azure/functions";
import { getConfig, settings } from "../lib/config/index.js";
import { loggerFromContext } from "../lib/logger.js";
import { declareTimer } from "./registry.js";

/** Follows every unfinished backup job to its end, picks up policy-scheduled jobs, raises alerts. */
export async function pollJobs(_timer: Timer, context: InvocationContext): Promise<void> {
  const logger = loggerFromContext(context);
  const { getApp } = await import("../lib/app.js");
  const app = await getApp();
  const result = await app.jobs.poller.pollOnce();
  const stale = await app.backups.staleCheck.run();
  const resent = await app.alerts.retryPending();
  logger.info(
    `Poll: ${result.vaults} vault(s), ${result.listed} listed, ${result.fetched} fetched, ${result.inserted} new, ${result.updated} updated, ${result.finished} finished, ${stale} stale alert(s), ${resent} alert(s) re-sent.`,
  );
  if (result.failedVaults.length)
    logger.warn(`Vaults not polled this cycle: ${result.failedVaults.join(", ")}`);
}

declareTimer("pollJobs", { schedule: schedule(), handler: pollJobs });

/** The configured schedule; the default when configuration is incomplete (the first run reports the problem). */
function schedule(): string {
  try {
    return getConfig().pollSchedule;
  } catch {
    return settings.pollSchedule.defaultValue;
  }
}
