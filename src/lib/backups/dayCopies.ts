import { ensureError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { CursorStore } from "../store/cursors.js";
import { JOBS_BY_DAY_TABLE, type JobStore } from "../store/jobs.js";
import type { OperationOptions } from "../util/options.js";

export interface DayCopyMigrationDeps {
  jobs: Pick<JobStore, "copyAllToDayTable">;
  cursors: Pick<CursorStore, "get" | "put">;
  logger?: Logger;
  now?: () => Date;
}

export interface DayCopyMigration {
  /**
   * Copies job rows written before the `jobsByDay` table existed, once per deployment (a `migrations`
   * cursor records it) and checked once per process. A failure is logged and retried on the next call.
   */
  ensure(options?: OperationOptions): Promise<void>;
}

export function createDayCopyMigration(deps: DayCopyMigrationDeps): DayCopyMigration {
  const logger = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  let done = false;
  return {
    async ensure(options = {}) {
      if (done) return;
      try {
        if (!(await deps.cursors.get("migrations", JOBS_BY_DAY_TABLE, options))) {
          const copied = await deps.jobs.copyAllToDayTable(options);
          await deps.cursors.put(
            { partition: "migrations", name: JOBS_BY_DAY_TABLE, value: now().toISOString() },
            options,
          );
          logger.info(`Copied ${copied} job row(s) to ${JOBS_BY_DAY_TABLE} for the cross-server job list.`);
        }
        done = true;
      } catch (e) {
        options.abortSignal?.throwIfAborted();
        logger.warn(
          `Copying job rows to ${JOBS_BY_DAY_TABLE} failed; retried next cycle: ${ensureError(e).message}`,
        );
      }
    },
  };
}
