import type { InvocationContext, Timer } from "@azure/functions";
import { loggerFromContext } from "../lib/logger.js";
import { declareTimer } from "./registry.js";

/** Removes job history rows, sweep reports and `Deleted` server rows older than PGFLEX_HISTORY_RETENTION_DAYS, daily. */
export async function purgeHistory(_timer: Timer, context: InvocationContext): Promise<void> {
  const { getApp } = await import("../lib/app.js");
  const app = await getApp();
  const removed = await app.backups.purgeHistory();
  const sweeps = await app.compliance.purgeSweeps();
  const servers = await app.protection.purgeDeleted();
  loggerFromContext(context).info(
    `Purged ${removed} job history row(s), ${sweeps.length} sweep(s) and ${servers.length} Deleted server row(s).`,
  );
}

declareTimer("purgeHistory", { schedule: "0 30 2 * * *", handler: purgeHistory });
