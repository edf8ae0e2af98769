import type { InvocationContext, Timer } from "@azure/functions";
import { loggerFromContext } from "../lib/logger.js";
import { declareTimer } from "./registry.js";

/** Removes job history rows older than PGFLEX_HISTORY_RETENTION_DAYS, daily. */
export async function purgeHistory(_timer: Timer, context: InvocationContext): Promise<void> {
  const { getBackupApp } = await import("../lib/backups/app.js");
  const removed = await (await getBackupApp()).purgeHistory();
  loggerFromContext(context).info(`Purged ${removed} job history row(s).`);
}

declareTimer("purgeHistory", { schedule: "0 30 2 * * *", handler: purgeHistory });
