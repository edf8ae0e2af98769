import type { EmulatorClock, ScheduledTask, Scheduler } from "./provider.js";

/** Emulator time starts at real time and runs `timeScale` times faster, so LROs and retries shrink in tests. */
export function createClock(timeScale: number): EmulatorClock {
  if (!(timeScale > 0)) throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
  const startReal = Date.now();
  return {
    timeScale,
    now: () => startReal + (Date.now() - startReal) * timeScale,
    nowIso() {
      return new Date(this.now()).toISOString();
    },
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
