/**
 * `npm run emulator`: the ARM emulator alone, with the demo seed, on https://127.0.0.1:8443.
 * Options: --port, --host, --seed <file|none>, --time-scale, --provisioning-delay-ms, --cert-path, --verbose,
 * --blob-connection-string (a running Azurite's), --no-local-postgres.
 */
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { startEmulator } from "./index.js";

const number = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new InvalidArgumentError(`'${value}' is not a non-negative number.`);
  return parsed;
};

const program = new Command()
  .name("emulator")
  .description("Azure Resource Manager emulator for pgflex-autoprotect")
  .option("--port <port>", "HTTPS port", number, 8443)
  .option("--host <host>", "loopback address to bind", "127.0.0.1")
  .option(
    "--seed <file>",
    "seed JSON file, or 'none'",
    join(dirname(fileURLToPath(import.meta.url)), "seeds", "demo.json"),
  )
  .option("--time-scale <factor>", "emulator time speed-up", number, 1)
  .option("--provisioning-delay-ms <ms>", "emulated server create duration", number, 60_000)
  .option(
    "--cert-path <file>",
    "where to write the certificate",
    join(tmpdir(), "pgflex-autoprotect-emulator.pem"),
  )
  .option("--verbose", "log emulator diagnostics", false)
  .option(
    "--blob-connection-string <string>",
    "connection string of a running Azurite (restores write there)",
  )
  .option("--no-local-postgres", "serve the committed pg_dump archives instead of a local PostgreSQL")
  .parse();

const options = program.opts<{
  port: number;
  host: string;
  seed: string;
  timeScale: number;
  provisioningDelayMs: number;
  certPath: string;
  verbose: boolean;
  blobConnectionString?: string;
  localPostgres: boolean;
}>();

const emulator = await startEmulator({
  port: options.port,
  host: options.host,
  timeScale: options.timeScale,
  provisioningDelayInMs: options.provisioningDelayMs,
  certPath: options.certPath,
  verbose: options.verbose,
  localPostgres: options.localPostgres,
  ...(options.blobConnectionString ? { blobConnectionString: options.blobConnectionString } : {}),
  ...(options.seed === "none" ? {} : { seed: options.seed }),
});

const state = await emulator.control.exportState();
process.stdout.write(
  [
    `ARM emulator listening on ${emulator.url}`,
    `  certificate: ${emulator.caCertPath}  (export NODE_EXTRA_CA_CERTS=${emulator.caCertPath})`,
    `  control API: ${emulator.url}/_emulator/  (loopback, no bearer)`,
    `  state: ${state.subscriptions?.length ?? 0} subscriptions, ${state.servers?.length ?? 0} servers`,
    "",
  ].join("\n"),
);

const shutdown = (): void => {
  void emulator.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
