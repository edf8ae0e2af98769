import { ConflictError, ensureError } from "../errors.js";
import { ApiError } from "../http/errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { CursorStore } from "../store/cursors.js";
import type { ServerRecord, ServerStore } from "../store/servers.js";
import type { BackupService } from "./service.js";
import type { OperationOptions } from "../util/options.js";

/** One entry of PGFLEX_SCHEDULED_BACKUPS. */
export interface ScheduledBackupSelector {
  name: string;
  tag: string;
  value: string;
  /** 6-field NCRONTAB, evaluated in UTC. */
  schedule: string;
  retentionTag?: string;
}

export interface ScheduledBackupsDeps {
  selectors: readonly ScheduledBackupSelector[];
  cursors: CursorStore;
  servers: Pick<ServerStore, "list">;
  /** PGFLEX_BACKUP_TAG: its value is on each row, so selecting by it needs no ARM read. */
  backupTag: string;
  /** The server's tags as ARM has them now; undefined when the server is gone. */
  readServerTags(serverId: string, options: OperationOptions): Promise<Record<string, string> | undefined>;
  backups: BackupService;
  now?: () => Date;
  logger?: Logger;
  /** How far back a first run looks for a due time (the timer's own period). Default 5 minutes. */
  firstLookBackInMs?: number;
}

export interface ScheduledRunResult {
  due: string[];
  started: Array<{ selector: string; serverId: string; jobId: string }>;
  skipped: Array<{ selector: string; serverId: string; code: string }>;
  failed: Array<{ selector: string; serverId: string; message: string }>;
}

export interface ScheduledBackups {
  /** Starts backups for every selector whose schedule fell due since its last run. */
  runDue(options?: OperationOptions): Promise<ScheduledRunResult>;
}

export async function isDue(schedule: string, lastRun: Date, now: Date): Promise<boolean> {
  const { Cron } = await import("croner");
  const next = new Cron(schedule, { paused: true, timezone: "UTC" }).nextRun(lastRun);
  return next !== null && next.getTime() <= now.getTime();
}

export function createScheduledBackups(deps: ScheduledBackupsDeps): ScheduledBackups {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;

  /** Protected servers whose tag `tag` equals `value` (case-insensitive). */
  async function* selectServers(
    selector: ScheduledBackupSelector,
    options: OperationOptions,
  ): AsyncIterable<ServerRecord> {
    const wanted = selector.value.toLowerCase();
    const byBackupTag = selector.tag.toLowerCase() === deps.backupTag.toLowerCase();
    for await (const server of deps.servers.list({ state: "Protected", ...options })) {
      if (byBackupTag) {
        if (server.tagValue?.toLowerCase() === wanted) yield server;
        continue;
      }
      // Other tags live on the server in ARM, not in the table.
      const tags = (await deps.readServerTags(server.resourceId, options)) ?? {};
      const value = Object.entries(tags).find(([k]) => k.toLowerCase() === selector.tag.toLowerCase())?.[1];
      if (value?.toLowerCase() === wanted) yield server;
    }
  }

  return {
    async runDue(options = {}) {
      const result: ScheduledRunResult = { due: [], started: [], skipped: [], failed: [] };
      const at = now();
      for (const selector of deps.selectors) {
        const cursor = await deps.cursors.get("schedules", selector.name, options);
        const lastRun = cursor
          ? new Date(cursor.value)
          : new Date(at.getTime() - (deps.firstLookBackInMs ?? 5 * 60_000));
        if (!(await isDue(selector.schedule, lastRun, at))) continue;
        // Claim the run with the cursor's ETag: of two timer instances, one starts the backups.
        try {
          await deps.cursors.put(
            cursor
              ? { ...cursor, value: at.toISOString() }
              : { partition: "schedules", name: selector.name, value: at.toISOString() },
            options,
          );
        } catch (e) {
          if (e instanceof ConflictError) continue;
          throw e;
        }
        result.due.push(selector.name);
        for await (const server of selectServers(selector, options)) {
          try {
            const job = await deps.backups.start(
              {
                subscriptionId: server.subscriptionId,
                resourceGroup: server.resourceGroup,
                serverName: server.serverName,
              },
              {
                origin: "schedule",
                schedule: selector.name,
                ...(selector.retentionTag ? { retentionTag: selector.retentionTag } : {}),
              },
              options,
            );
            result.started.push({ selector: selector.name, serverId: server.resourceId, jobId: job.jobId });
          } catch (e) {
            if (e instanceof ApiError && e.status < 500) {
              result.skipped.push({ selector: selector.name, serverId: server.resourceId, code: e.code });
            } else {
              result.failed.push({
                selector: selector.name,
                serverId: server.resourceId,
                message: ensureError(e).message,
              });
              logger.warn(
                `Scheduled backup ${selector.name} of ${server.resourceId} failed: ${ensureError(e).message}`,
              );
            }
          }
        }
      }
      return result;
    },
  };
}
