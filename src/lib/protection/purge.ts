/** History retention for the servers table: `Deleted` rows go after PGFLEX_HISTORY_RETENTION_DAYS. */
import type { AuditLog } from "../store/audit.js";
import type { ServerStore } from "../store/servers.js";
import type { OperationOptions } from "../util/options.js";

const DAY_IN_MS = 86_400_000;

export interface PurgeDeletedServersDeps {
  servers: Pick<ServerStore, "deleteDeletedBefore">;
  audit: Pick<AuditLog, "append">;
  retentionDays: number;
}

/**
 * Removes the rows of servers recorded `Deleted` more than `retentionDays` before `now` (a `Deleted` row is
 * history, like jobs and sweeps), with one audit row each; the ids removed.
 */
export async function purgeDeletedServers(
  deps: PurgeDeletedServersDeps,
  now: Date,
  options: OperationOptions = {},
): Promise<string[]> {
  const cutoff = new Date(now.getTime() - deps.retentionDays * DAY_IN_MS);
  const removed = await deps.servers.deleteDeletedBefore(cutoff, options);
  for (const id of removed) {
    await deps.audit.append(
      {
        action: "purgeRow",
        target: id,
        serverId: id,
        cause: "purgeHistory",
        result: "succeeded",
        detail: `Deleted row removed: recorded Deleted before ${cutoff.toISOString()}, past the ${deps.retentionDays}-day history retention (PGFLEX_HISTORY_RETENTION_DAYS).`,
      },
      options,
    );
  }
  return removed;
}
