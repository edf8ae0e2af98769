/** The one-vaulted-backup-a-week limit as on-demand backups meet it: the refusal, its body and the forced warning. */
import { ApiError } from "../http/errors.js";
import { assessWeek, WEEK_IN_MS, WEEKLY_BACKUP_LIMIT, type WeekAssessment } from "../domain/weeklyBackups.js";
import type { JobStore } from "../store/jobs.js";
import type { OperationOptions } from "../util/options.js";

export const WEEKLY_BACKUP_LIMIT_CODE = "WeeklyBackupLimit";

/** This week's vaulted backup of a server (ran or due) and when the next one is possible. */
export interface WeeklyConflict {
  serverName: string;
  /** The job that used the week, or the policy's backup still due this week (no job yet). */
  backupAt: string;
  jobId?: string;
  status?: string;
  /** True when `backupAt` is the policy's scheduled backup still to come this week. */
  due: boolean;
  nextPossibleAt: string;
}

/** 409 `WeeklyBackupLimit`: the body carries the conflict's times besides the usual message and fix. */
export class WeeklyBackupLimitError extends ApiError {
  constructor(
    readonly conflict: WeeklyConflict,
    target: string,
  ) {
    super(409, WEEKLY_BACKUP_LIMIT_CODE, weeklyLimitMessage(conflict), { target, fix: refusalFix(conflict) });
  }

  /** The stable error shape plus `thisWeeksBackupAt`, `thisWeeksBackupJobId`, `scheduled`, `nextBackupPossibleAt`. */
  body(): Record<string, unknown> {
    const c = this.conflict;
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details.target ? { target: this.details.target } : {}),
        ...(this.details.fix ? { fix: this.details.fix } : {}),
        thisWeeksBackupAt: c.backupAt,
        ...(c.jobId ? { thisWeeksBackupJobId: c.jobId } : {}),
        scheduled: c.due,
        nextBackupPossibleAt: c.nextPossibleAt,
      },
    };
  }
}

/** The week as the server's recorded job history shows it (this week's jobs and the policy's last backup). */
export async function readWeek(
  jobs: Pick<JobStore, "list">,
  serverId: string,
  now: Date,
  options: OperationOptions = {},
): Promise<WeekAssessment> {
  const since = new Date(now.getTime() - 2 * WEEK_IN_MS);
  const seen = [];
  for await (const job of jobs.list({ serverId, since, ...options })) seen.push(job);
  return assessWeek(seen, now);
}

/** The conflict a backup started now would meet, if any. */
export function conflictOf(week: WeekAssessment, serverName: string): WeeklyConflict | undefined {
  const nextPossibleAt = week.nextPossibleAt.toISOString();
  if (week.taken) {
    return {
      serverName,
      backupAt: new Date(week.taken.startTime).toISOString(),
      jobId: week.taken.jobId,
      status: week.taken.status,
      due: false,
      nextPossibleAt,
    };
  }
  if (week.scheduledAt)
    return { serverName, backupAt: week.scheduledAt.toISOString(), due: true, nextPossibleAt };
  return undefined;
}

/** Why a backup now meets the limit: this week's backup (ran or due), the limit, the next possible time. */
export function weeklyLimitMessage(c: WeeklyConflict): string {
  const limit = `${WEEKLY_BACKUP_LIMIT} (weeks counted from Sunday 00:00 UTC)`;
  if (c.due) {
    return (
      `This week's vaulted backup of ${c.serverName} is its policy's scheduled backup, due at ${c.backupAt}: ` +
      `${limit}, so a backup now would make that scheduled backup fail. The next backup is possible from ${c.nextPossibleAt}.`
    );
  }
  return (
    `${c.serverName} already had this week's vaulted backup at ${c.backupAt} (job ${c.jobId ?? "?"}, ${c.status ?? "unknown"}): ` +
    `${limit}. The next backup is possible from ${c.nextPossibleAt}.`
  );
}

function refusalFix(c: WeeklyConflict): string {
  return c.due
    ? `Wait until ${c.nextPossibleAt}, or send {"force": true} to back up now and let this week's scheduled backup fail.`
    : `Wait until ${c.nextPossibleAt}, or send {"force": true} to start it anyway; Azure is expected to fail it.`;
}

/** What a forced backup's answer warns about. */
export function forcedWarning(c: WeeklyConflict): string {
  return c.due
    ? `Started despite the weekly limit: this week's scheduled backup of ${c.serverName}, due at ${c.backupAt}, will fail (Azure runs only the first vaulted backup of a week).`
    : `Started despite the weekly limit: ${c.serverName} already had this week's vaulted backup at ${c.backupAt} (job ${c.jobId ?? "?"}), so Azure is expected to fail this one. The next backup is possible from ${c.nextPossibleAt}.`;
}
