/** Console output of `npm start`: one line per step, a spinner while something is awaited (TTY only). */
export interface Narrator {
  line(text?: string): void;
  /** Runs `work`, showing `label` with a spinner and the latest `update(detail)`; prints ✔ or ✖ after. */
  step<T>(
    label: string,
    work: (update: (detail: string) => void) => Promise<T>,
    done?: (result: T) => string,
  ): Promise<T>;
}

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function createNarrator(out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Narrator {
  const tty = out.isTTY === true;
  return {
    line(text = "") {
      out.write(`${text}\n`);
    },
    async step(label, work, done) {
      let detail = "";
      let frame = 0;
      const started = Date.now();
      const render = (): void => {
        const seconds = ((Date.now() - started) / 1000).toFixed(0);
        out.write(
          `\r\x1b[2K${frames[frame++ % frames.length]} ${label}${detail ? ` — ${detail}` : ""} (${seconds}s)`,
        );
      };
      const timer = tty ? setInterval(render, 120) : undefined;
      if (!tty) out.write(`… ${label}\n`);
      try {
        const result = await work((d) => {
          detail = d;
        });
        if (tty) out.write("\r\x1b[2K");
        out.write(`✔ ${done ? done(result) : label}\n`);
        return result;
      } catch (e) {
        if (tty) out.write("\r\x1b[2K");
        out.write(`✖ ${label}: ${e instanceof Error ? e.message : String(e)}\n`);
        throw e;
      } finally {
        if (timer) clearInterval(timer);
      }
    },
  };
}

/** Polls `probe` every `intervalInMs` until it returns a value, or fails after `timeoutInMs` naming `what`. */
export async function poll<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  options: { intervalInMs?: number; timeoutInMs?: number; abortSignal?: AbortSignal } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutInMs ?? 60_000);
  for (;;) {
    options.abortSignal?.throwIfAborted();
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, options.intervalInMs ?? 300));
  }
}
