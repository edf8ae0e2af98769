import { Command, CommanderError } from "commander";
import { loadConfig, type Config } from "../lib/config/index.js";
import { ensureError, isRestError } from "../lib/errors.js";
import { addBackupCommand } from "./commands/backup.js";
import { addDoctorCommand } from "./commands/doctor.js";
import { addInspectCommand } from "./commands/inspect.js";
import { addJobsCommand } from "./commands/jobs.js";
import { addProtectCommand } from "./commands/protect.js";
import { addRecoveryPointsCommand } from "./commands/recoveryPoints.js";
import { addRestoreCommand } from "./commands/restore.js";
import { addRestoreTestCommands } from "./commands/restoreTests.js";
import { addServersCommand } from "./commands/servers.js";
import { addStatusCommand } from "./commands/status.js";
import { addSweepCommand } from "./commands/sweep.js";
import type { CliContext, CliIo } from "./context.js";
import { CliError, ExitCodes, type ExitCode } from "./exitCodes.js";
import { createCliServices, type CliServices } from "./services.js";

export interface RunCliOptions {
  /** App settings; default: the process environment (read by src/lib/config). */
  env?: Record<string, string | undefined>;
  io?: CliIo;
  /** Tests pass services built on fakes or on the emulator. */
  services?: (config: Config) => CliServices;
  now?: () => Date;
  /** Poll interval of `backup --wait` (default 2 s divided by PGFLEX_TIME_SCALE, at least 50 ms). */
  pollIntervalInMs?: number;
}

const EXIT_HELP = [
  "",
  "Exit codes:",
  "  0  done, nothing needs attention",
  "  1  unexpected failure",
  "  2  wrong command line",
  "  3  invalid settings, or Azure refused (sign-in, permissions, unknown server)",
  "  4  something needs a person (non-compliant servers, doctor problems, a failed backup)",
  "  5  --wait gave up before the work finished (it continues in Azure)",
  "",
  "Settings come from the environment, as in the app (PGFLEX_SCOPES, PGFLEX_POLICY_MAP, ...);",
  "ARM tokens from DefaultAzureCredential (az login) with PGFLEX_ARM_CREDENTIAL=default.",
].join("\n");

/** The one place the CLI's services are created, from the settings, once per run. */
function createServices(options: RunCliOptions): CliServices {
  const config = loadConfig(options.env);
  return (options.services ?? ((settings) => createCliServices(settings)))(config);
}

/** Parses `argv`, runs the command and returns its exit code (commander's own errors become exit code 2). */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<ExitCode> {
  const io: CliIo = options.io ?? { stdout: process.stdout, stderr: process.stderr };
  const program = new Command()
    .name("pgflex-autoprotect")
    .description(
      "Keeps Azure Database for PostgreSQL Flexible Servers protected by Azure Backup: inspect and act from a terminal.",
    )
    .option("--json", "machine-readable output on stdout")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_HELP)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  let exitCode: ExitCode = ExitCodes.ok;
  let services: CliServices | undefined;
  const cli: CliContext = {
    io,
    services: () => (services ??= createServices(options)),
    write: (text) => void io.stdout.write(text),
    json: () => program.opts<{ json?: boolean }>().json === true,
    setExitCode: (code) => {
      exitCode = code;
    },
    now: options.now ?? (() => new Date()),
    pollIntervalInMs: options.pollIntervalInMs,
  };
  for (const addCommand of [
    addStatusCommand,
    addServersCommand,
    addProtectCommand,
    addBackupCommand,
    addJobsCommand,
    addSweepCommand,
    addDoctorCommand,
    addRecoveryPointsCommand,
    addRestoreCommand,
    addRestoreTestCommands,
    addInspectCommand,
  ])
    addCommand(program, cli);

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (thrown) {
    return reportFailure(thrown, io);
  }
}

/** Writes what went wrong to stderr and picks the exit code for it. */
function reportFailure(thrown: unknown, io: CliIo): ExitCode {
  if (thrown instanceof CommanderError) {
    return thrown.exitCode === 0 ||
      thrown.code === "commander.helpDisplayed" ||
      thrown.code === "commander.version"
      ? ExitCodes.ok
      : ExitCodes.usage;
  }
  if (thrown instanceof CliError) {
    io.stderr.write(`${thrown.message}\n${thrown.fix ? `Fix: ${thrown.fix}\n` : ""}`);
    return thrown.exitCode;
  }
  const error = ensureError(thrown);
  if (error.name === "ConfigError" || error instanceof RangeError) {
    io.stderr.write(`${error.message}\n`);
    return ExitCodes.refused;
  }
  if (isRestError(error) && [401, 403, 404].includes(error.statusCode ?? 0)) {
    io.stderr.write(`Azure refused: ${error.message}\n`);
    return ExitCodes.refused;
  }
  if (error.name === "CredentialUnavailableError" || error.name === "AuthenticationError") {
    io.stderr.write(
      `${error.message}\nFix: sign in with az login, or set PGFLEX_ARM_CREDENTIAL and its settings.\n`,
    );
    return ExitCodes.refused;
  }
  io.stderr.write(`pgflex-autoprotect: ${error.message}\n`);
  return ExitCodes.failed;
}
