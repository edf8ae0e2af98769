import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../../src/cli/program.js";

/** A terminal's stderr (spinners draw there) that keeps what was written. */
function aTerminal() {
  let text = "";
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString("utf8");
        done();
      },
    }),
    { isTTY: true },
  );
  return { stream, text: () => text };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("runCli in a terminal", () => {
  it.each([["status"], ["servers"], ["doctor"], ["jobs"], ["sweep"], ["protect", "orders-db"]])(
    "%s leaves no spinner running when the settings are invalid, so the process can exit",
    async (...argv: string[]) => {
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      const stdout = aTerminal();
      const stderr = aTerminal();
      const code = await runCli(argv, {
        env: { PGFLEX_MODE: "sometimes" },
        io: { stdout: stdout.stream, stderr: stderr.stream },
      });
      expect(code).toBe(3);
      expect(stderr.text()).toMatch(/^Invalid configuration:\n {2}PGFLEX_MODE="sometimes": /);
      expect(vi.getTimerCount()).toBe(0);
    },
  );
});
