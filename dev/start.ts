/**
 * `npm start`: the whole product locally in one process tree — Azurite, the ARM emulator with the demo
 * estate, a development token issuer and the local Functions host with every function — then the story
 * (`--quiet` skips it), the dashboard URL, and it keeps running until Ctrl-C.
 * `npm start -- --azure` runs the same app against real Azure (local.settings.json, DefaultAzureCredential).
 */
import { Command, InvalidArgumentError } from "commander";
import { createApiClient } from "./start/api.js";
import { createNarrator } from "./start/console.js";
import { PortInUseError } from "./start/ports.js";
import { DEFAULT_TIME_SCALE, startStack, type Stack } from "./start/stack.js";
import { tellStory } from "./start/story.js";

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError(`'${value}' is not a port number.`);
  return n;
};
const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1)
    throw new InvalidArgumentError(`'${value}' is not a number of at least 1.`);
  return n;
};

const options = new Command()
  .name("npm start --")
  .description(
    "Run pgflex-autoprotect locally: Azurite, the ARM emulator, the Functions host and the dashboard.",
  )
  .option("--port <port>", "local Functions host port (0 = any free port)", port, 7071)
  .option("--emulator-port <port>", "ARM emulator port (0 = any free port)", port, 8443)
  .option("--quiet", "skip the story; print only the URLs", false)
  .option("--azure", "run against real Azure with local.settings.json and DefaultAzureCredential", false)
  .option("--seed <file>", "emulator seed (default dev/emulator/seeds/demo-estate.json)")
  .option(
    "--time-scale <factor>",
    "emulator and app waits run this many times faster",
    positive,
    DEFAULT_TIME_SCALE,
  )
  .option("--verbose", "print host and app logs instead of writing them to .local/npm-start.log", false)
  .parse()
  .opts<{
    port: number;
    emulatorPort: number;
    quiet: boolean;
    azure: boolean;
    seed?: string;
    timeScale: number;
    verbose: boolean;
  }>();

// @azure/functions warns once per function that it is not running inside the Functions worker; the local
// host serves them itself (dev/host/README.md), so those lines would only bury the story.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === "string" && /"@azure\/functions" package (is in|to) test mode/.test(args[0])) return;
  warn(...args);
};

const narrator = createNarrator();
const startedAt = Date.now();
let stack: Stack | undefined;
let stopping = false;
const controller = new AbortController();

const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  controller.abort();
  narrator.line(`\n${signal}: stopping the host, the emulator and Azurite…`);
  void (stack?.stop() ?? Promise.resolve()).then(
    () => {
      narrator.line("Stopped.");
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`Stopping failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));

try {
  stack = await narrator.step(
    options.azure
      ? "Starting Azurite and the local host against Azure"
      : "Starting Azurite, the ARM emulator and the local host",
    () =>
      startStack({
        port: options.port,
        emulatorPort: options.emulatorPort,
        target: options.azure ? "azure" : "emulator",
        timeScale: options.timeScale,
        ...(options.seed ? { seedPath: options.seed } : {}),
        ...(options.verbose ? { logFile: "console" as const } : {}),
      }),
    (s) =>
      `Local host at ${s.host.url} (${s.host.functions.length} functions)` +
      (s.emulator ? `, ARM emulator at ${s.emulator.url} (time ×${options.timeScale})` : ", ARM: real Azure"),
  );
  if (stack.logFile) narrator.line(`  Host and app logs: ${stack.logFile}`);
  if (!options.quiet && stack.emulator && !stopping) {
    const steps = await tellStory(stack, narrator, { abortSignal: controller.signal });
    const failed = steps.filter((s) => s.outcome === "failed");
    for (const step of failed) narrator.line(`✖ ${step.name}: ${step.detail}`);
    narrator.line(
      `Story ${failed.length ? "finished with problems" : "complete"} in ${Math.round((Date.now() - startedAt) / 1000)} s.`,
    );
  } else if (options.quiet && stack.emulator && !stopping) {
    // No story, but one sweep so the dashboard shows the estate within seconds.
    await createApiClient({
      baseUrl: stack.host.url,
      functionKey: stack.host.functionKey,
      token: stack.tokens.operator,
    })
      .post("sweeps", {})
      .catch((e: unknown) =>
        narrator.line(`! The first sweep did not start: ${e instanceof Error ? e.message : String(e)}`),
      );
  } else if (!options.quiet && !stack.emulator) {
    narrator.line(
      "The story needs the ARM emulator; against Azure it is skipped (nothing is changed for a demo).",
    );
  }
  if (!stopping) {
    narrator.line("");
    narrator.line(`Dashboard (operator): ${stack.dashboardUrl("operator")}`);
    narrator.line(`Dashboard (reader):   ${stack.dashboardUrl("reader")}`);
    narrator.line(`API: ${stack.host.url}/api/  (x-functions-key: ${stack.host.functionKey})`);
    if (stack.emulator && stack.estate)
      narrator.line(
        `CLI: NODE_EXTRA_CA_CERTS=${stack.emulator.caCertPath} PGFLEX_ARM_ENDPOINT=${stack.emulator.url} ` +
          `PGFLEX_ARM_CREDENTIAL=emulator PGFLEX_SCOPES=${stack.settings["PGFLEX_SCOPES"] ?? ""} ` +
          `PGFLEX_POLICY_MAP=${stack.settings["PGFLEX_POLICY_MAP"] ?? ""} PGFLEX_TIME_SCALE=${stack.settings["PGFLEX_TIME_SCALE"] ?? "1"} ` +
          `npx pgflex-autoprotect status`,
      );
    narrator.line(`dashboard at ${stack.host.url}/api/dashboard — running; Ctrl-C stops everything.`);
  }
} catch (e) {
  if (e instanceof PortInUseError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  if (!stopping) {
    process.stderr.write(`npm start failed: ${e instanceof Error ? e.message : String(e)}\n`);
    await stack?.stop();
    process.exit(1);
  }
}
