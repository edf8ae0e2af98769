import { Worker } from "node:worker_threads";

export interface CpuLoad {
  /** Busy-looping worker threads running. */
  readonly threads: number;
  stop(): Promise<void>;
}

/**
 * `threads` worker threads that spin until stopped: the machine busy with other work, as when a drill
 * shares its cores. Threads of this process, so nothing outlives the run even when it is killed.
 */
export function startCpuLoad(threads: number): CpuLoad {
  const workers = Array.from({ length: threads }, () => new Worker("for (;;) {}", { eval: true }));
  return {
    threads,
    async stop() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
