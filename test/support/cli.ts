import { Writable } from "node:stream";
import { runCli, type RunCliOptions } from "../../src/cli/program.js";

function sink() {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString("utf8");
      done();
    },
  });
  return { stream, text: () => text };
}

/** Runs the CLI in this process, as a terminal would, and returns its exit code and what it printed. */
export async function runCliCaptured(
  argv: readonly string[],
  options: Omit<RunCliOptions, "io">,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(argv, { ...options, io: { stdout: stdout.stream, stderr: stderr.stream } });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
