/** Exit codes scripts can rely on (also listed in `--help` and the README). */
export const ExitCodes = {
  /** Done; nothing needs attention. */
  ok: 0,
  /** A bug or an unexpected failure (message on stderr). */
  failed: 1,
  /** Wrong command line (unknown command or option, missing argument). */
  usage: 2,
  /** Invalid settings, or Azure refused (sign-in, permissions, a server that does not exist). */
  refused: 3,
  /** The command ran and found something that needs a person: non-compliant servers, doctor problems, a failed backup. */
  attention: 4,
  /** A `--wait` gave up before the work finished (it continues in Azure). */
  timedOut: 5,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly fix?: string,
  ) {
    super(message);
  }
}
