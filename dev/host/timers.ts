import { Cron } from "croner";
import type { Timer } from "@azure/functions";
import { parseTimeSpan } from "./hostJson.js";

/**
 * Timer triggers: 6-field NCRONTAB (`sec min hour day month weekday`, UTC as the host's default,
 * day and weekday both required to match as NCrontab does) or a `hh:mm:ss` interval, `%Setting%`
 * resolved from the app settings like the real host does.
 */
export interface TimerSchedule {
  /** Next occurrence after `from`. */
  next(from: Date): Date | undefined;
}

export function resolveSettingReference(
  value: string,
  env: Record<string, string | undefined>,
  what: string,
): string {
  const m = /^%([^%]+)%$/.exec(value.trim());
  if (!m) return value;
  const resolved = env[m[1] as string];
  if (resolved === undefined || resolved.trim() === "") {
    throw new RangeError(`${what} refers to the app setting ${m[1]}, which is not set.`);
  }
  return resolved.trim();
}

export function parseSchedule(expression: string, functionName: string): TimerSchedule {
  const text = expression.trim();
  if (/^(\d+\.)?\d{1,2}:\d{1,2}:\d{1,2}$/.test(text)) {
    const everyInMs = parseTimeSpan(text, `schedule of ${functionName}`);
    if (everyInMs <= 0)
      throw new RangeError(`Timer ${functionName}: the interval "${text}" must be longer than zero.`);
    return { next: (from) => new Date(Math.floor(from.getTime() / everyInMs) * everyInMs + everyInMs) };
  }
  if (text.split(/\s+/).length !== 6) {
    throw new RangeError(
      `Timer ${functionName}: "${text}" must be a 6-field NCRONTAB expression (sec min hour day month weekday).`,
    );
  }
  let cron: Cron;
  try {
    cron = new Cron(text, { mode: "6-part", timezone: "UTC", domAndDow: true, paused: true });
  } catch (e) {
    throw new RangeError(
      `Timer ${functionName}: "${text}" is not a valid NCRONTAB expression (${(e as Error).message}).`,
      { cause: e },
    );
  }
  return { next: (from) => cron.nextRun(from) ?? undefined };
}

export interface ScheduledTimer {
  stop(): void;
}

/** Fires `fire(timer)` at each occurrence, never twice at once (a slow run delays the next, as in the host). */
export function scheduleTimer(
  schedule: TimerSchedule,
  fire: (timer: Timer) => Promise<unknown>,
  options: { runOnStartup?: boolean } = {},
): ScheduledTimer {
  let stopped = false;
  let handle: ReturnType<typeof setTimeout> | undefined;
  let last: Date | undefined;
  const run = async (due: Date | undefined, nextFrom: Date): Promise<void> => {
    const now = new Date();
    const next = schedule.next(now);
    const isPastDue = due !== undefined && now.getTime() - due.getTime() > 1000;
    await fire(timerInfo(isPastDue, last, next)).catch(() => undefined);
    last = now;
    if (!stopped) arm(schedule.next(new Date(Math.max(Date.now(), nextFrom.getTime()))));
  };
  const arm = (at: Date | undefined): void => {
    if (!at || stopped) return;
    // setTimeout caps at ~24.8 days; re-arm in steps for schedules further out.
    const delay = Math.min(at.getTime() - Date.now(), 2 ** 31 - 1);
    handle = setTimeout(
      () => {
        if (Date.now() + 5 < at.getTime()) arm(at);
        else void run(at, at);
      },
      Math.max(0, delay),
    );
  };
  if (options.runOnStartup) void run(undefined, new Date());
  else arm(schedule.next(new Date()));
  return {
    stop() {
      stopped = true;
      if (handle) clearTimeout(handle);
    },
  };
}

export function timerInfo(isPastDue: boolean, last: Date | undefined, next: Date | undefined): Timer {
  const now = new Date().toISOString();
  return {
    isPastDue,
    schedule: { adjustForDST: true },
    scheduleStatus: {
      last: (last ?? new Date(0)).toISOString(),
      next: next?.toISOString() ?? now,
      lastUpdated: now,
    },
  };
}
