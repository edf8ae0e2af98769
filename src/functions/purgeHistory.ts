import type { InvocationContext, Timer } from "@azure/functions";
import { loggerFromContext } from "../lib/logger.js";
import { declareTimer } from "./registry.js";

/** Removes job history rows and sweep reports older than PGFLEX_HISTORY_RETENTION_DAYS, daily. */
export async function purgeHistory(_timer: Timer, context: InvocationContext): Promise<void> {
  const { getApp } = await import("../lib/app.js");
  const app = await getApp();
  const removed = await app.backups.purgeHistory();
  const sweeps = await app.compliance.purgeSweeps();
  loggerFromContext(context).info(`Purged ${removed} job history row(s) and ${sweeps.length} sweep(s).`);
}

declareTimer("purgeHistory", { schedule: "0 30 2 * * *", handler: purgeHistory });
