/**
 * Azure Backup's limit for PostgreSQL Flexible Server: one vaulted backup a week. When several run in one week,
 * the first runs and the later ones fail (support matrix). Azure does not publish where its week starts; this
 * app assumes the UTC calendar week starting Sunday 00:00, the weekday its policies are anchored on
 * (`R/2024-01-07T02:00:00+00:00/P1W`), as the local emulator does by default.
 */
import { Cron } from "croner";
import { isSuccessJobStatus, isTerminalJobStatus } from "./jobStatuses.js";

const DAY_IN_MS = 86_400_000;
export const WEEK_IN_MS = 7 * DAY_IN_MS;

/** The limit in words, for messages. */
export const WEEKLY_BACKUP_LIMIT =
  "Azure Backup takes one vaulted backup a week of a PostgreSQL flexible server; later ones in the same week fail";

/** Start of the (UTC, Sunday-first) week holding `at`. */
export function weekStart(at: Date): Date {
  const midnight = Math.floor(at.getTime() / DAY_IN_MS) * DAY_IN_MS;
  return new Date(midnight - new Date(midnight).getUTCDay() * DAY_IN_MS);
}

/** A job of the server's history, as far as the limit cares. */
export interface WeekJob {
  jobId: string;
  startTime: string;
  status: string;
  /** `policy` = the vault's own schedule. */
  origin: string;
  operation?: string;
}

export interface WeekAssessment {
  weekStart: Date;
  /** When the next vaulted backup can run: the next week's start. */
  nextPossibleAt: Date;
  /** This week's vaulted backup so far (running or succeeded): a new one would fail. */
  taken?: WeekJob;
  /** The policy's backup expected later this week (its last run plus whole weeks): a backup now makes it fail. */
  scheduledAt?: Date;
}

/** Counts against the limit: a backup (not a restore) that is running or succeeded. */
function usesTheWeek(job: WeekJob): boolean {
  if (job.operation && /restore/i.test(job.operation)) return false;
  return !isTerminalJobStatus(job.status) || isSuccessJobStatus(job.status);
}

/**
 * What the server's job history says about a vaulted backup started `now`: this week's backup if one ran,
 * else the policy's backup still due this week, projected from the last one the vault's schedule ran.
 */
export function assessWeek(jobs: Iterable<WeekJob>, now: Date): WeekAssessment {
  const start = weekStart(now);
  const next = new Date(start.getTime() + WEEK_IN_MS);
  let taken: WeekJob | undefined;
  let lastPolicy: number | undefined;
  for (const job of jobs) {
    const at = Date.parse(job.startTime);
    if (Number.isNaN(at) || at > now.getTime()) continue;
    if (job.origin === "policy" && usesTheWeek(job)) lastPolicy = Math.max(lastPolicy ?? at, at);
    if (at < start.getTime() || !usesTheWeek(job)) continue;
    if (!taken || at < Date.parse(taken.startTime)) taken = job;
  }
  const result: WeekAssessment = { weekStart: start, nextPossibleAt: next, ...(taken ? { taken } : {}) };
  if (!taken && lastPolicy !== undefined) {
    const weeks = Math.floor((now.getTime() - lastPolicy) / WEEK_IN_MS) + 1;
    const projected = lastPolicy + weeks * WEEK_IN_MS;
    if (projected < next.getTime()) result.scheduledAt = new Date(projected);
  }
  return result;
}

/**
 * The shortest gap, in ms, between two runs of a 6-field NCRONTAB schedule (UTC) over the next two years;
 * undefined when it runs less than twice. Used to refuse schedules more frequent than weekly.
 */
export function shortestGapInMs(
  schedule: string,
  from = new Date("2024-01-07T00:00:00Z"),
): number | undefined {
  const cron = new Cron(schedule, { paused: true, timezone: "UTC" });
  const until = from.getTime() + 2 * 366 * DAY_IN_MS;
  let previous: number | undefined;
  let shortest: number | undefined;
  for (let run = cron.nextRun(from); run && run.getTime() <= until; run = cron.nextRun(run)) {
    const at = run.getTime();
    if (previous !== undefined) shortest = Math.min(shortest ?? Infinity, at - previous);
    previous = at;
    if (shortest !== undefined && shortest < WEEK_IN_MS) break;
  }
  return shortest;
}
