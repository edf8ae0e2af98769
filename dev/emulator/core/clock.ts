import type { EmulatorClock, ScheduledTask, Scheduler } from "./provider.js";

/**
 * Emulator time starts at real time and runs `timeScale` times faster, so LROs and retries shrink in tests.
 * That pace is internal: what the emulator reports is `reported(ms)`, the wall-clock instant at which emulator
 * instant `ms` passed (identity up to the start, then elapsed emulator time divided by `timeScale`). Durations
 * stay scaled; a reported time of anything that has happened is never after the wall clock.
 */
export function createClock(timeScale: number, startReal: number = Date.now()): EmulatorClock {
  if (!(timeScale > 0)) throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
  const now = (): number => startReal + (Date.now() - startReal) * timeScale;
  // Floored: float rounding must never put a reported time a millisecond after the wall clock.
  const reported = (emulatedMs: number): number =>
    emulatedMs <= startReal ? emulatedMs : Math.floor(startReal + (emulatedMs - startReal) / timeScale);
  return {
    timeScale,
    now,
    nowIso: () => new Date(reported(now())).toISOString(),
    reported,
    reportedIso: (emulatedMs) => new Date(reported(emulatedMs)).toISOString(),
    toRealMs: (emulatedMs) => Math.max(0, emulatedMs / timeScale),
  };
}

export interface StoppableScheduler extends Scheduler {
  /** Cancels every pending task (emulator stop). */
  cancelAll(): void;
}

export function createScheduler(clock: EmulatorClock, log: (message: string) => void): StoppableScheduler {
  const pending = new Set<NodeJS.Timeout>();
  return {
    after(delayInMs, task): ScheduledTask {
      const timer = setTimeout(() => {
        pending.delete(timer);
        Promise.resolve()
          .then(task)
          .catch((error: unknown) => log(`scheduled task failed: ${String(error)}`));
      }, clock.toRealMs(delayInMs));
      pending.add(timer);
      return {
        cancel() {
          clearTimeout(timer);
          pending.delete(timer);
        },
      };
    },
    cancelAll() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
    },
  };
}
