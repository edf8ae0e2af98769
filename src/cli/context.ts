import type { ExitCode } from "./exitCodes.js";
import type { CliServices } from "./services.js";

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** What every command works with; `runCli` builds one per run. */
export interface CliContext {
  readonly io: CliIo;
  /**
   * Created on first use, so a wrong command line never reads the settings. Commands ask for them before
   * starting a terminal spinner: invalid settings throw here, and a spinner left running keeps the process alive.
   */
  services(): CliServices;
  /** Writes to stdout. */
  write(text: string): void;
  /** True when the global `--json` was given: stdout gets JSON instead of text. */
  json(): boolean;
  /** The run's exit code; `ok` unless a command sets another. */
  setExitCode(code: ExitCode): void;
  now(): Date;
  /** Poll interval of `backup --wait` when the caller fixes one. */
  readonly pollIntervalInMs: number | undefined;
}
