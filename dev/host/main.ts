/**
 * `npm run host`: the app's functions on http://127.0.0.1:7071 with local.settings.json (or the sample).
 * `--azurite` starts an in-memory Azurite first and points AzureWebJobsStorage at it.
 * `--instances N` runs N host processes on the same storage behind a round-robin front end on the port.
 */
import { Command } from "commander";
import { startAzurite, type AzuriteHandle } from "../azurite/index.js";
import { startFromLocalSettings } from "./fromLocalSettings.js";
import { LOCAL_SETTINGS, LOCAL_SETTINGS_SAMPLE, readLocalSettings } from "./localSettings.js";
import { DEFAULT_PORT, REPO_ROOT, type LocalHost } from "./host.js";
import { startLocalHosts, type LocalHosts } from "./hosts.js";

const program = new Command()
  .name("npm run host --")
  .description("Serve the Functions app locally with the Azure Functions host's contracts.")
  .option("-p, --port <port>", "port to listen on (default: Host.LocalHttpPort or 7071)", (v) => parsePort(v))
  .option("--timers <mode>", "on: timers fire on schedule; off: only through the admin API", "on")
  .option("--azurite", "start an in-memory Azurite and use it as AzureWebJobsStorage", false)
  .option(
    "--instances <count>",
    "host processes sharing the storage, behind a round-robin front end on the port (as Azure scales out)",
    (v) => parseInstances(v),
    1,
  )
  .parse();

const opts = program.opts<{ port?: number; timers: string; azurite: boolean; instances: number }>();
if (opts.timers !== "on" && opts.timers !== "off")
  program.error(`--timers must be on or off, not "${opts.timers}".`);

let azurite: AzuriteHandle | undefined;
let host: LocalHost | undefined;
let hosts: LocalHosts | undefined;
try {
  if (opts.azurite) {
    azurite = await startAzurite();
    console.log(`Azurite: queues ${azurite.queueEndpoint}, tables ${azurite.tableEndpoint}`);
  }
  const storageEnv = azurite ? { AzureWebJobsStorage: azurite.connectionString } : {};
  if (opts.instances > 1) {
    const settings = await readLocalSettings(REPO_ROOT);
    hosts = await startLocalHosts({
      count: opts.instances,
      port: opts.port ?? settings.port ?? DEFAULT_PORT,
      env: { ...settings.values, ...storageEnv },
      keys: settings.keys,
      timers: opts.timers as "on" | "off",
      output: "inherit",
    });
    if (settings.fromSample) {
      console.log(
        `No ${LOCAL_SETTINGS}: using ${LOCAL_SETTINGS_SAMPLE}. Copy it to ${LOCAL_SETTINGS} to change settings.`,
      );
    }
    printInstances(hosts, settings.keys);
  }
  const started = hosts
    ? undefined
    : await startFromLocalSettings({
        port: opts.port,
        timers: opts.timers as "on" | "off",
        env: storageEnv,
      });
  host = started?.host;
  if (started?.settings.fromSample) {
    console.log(
      `No ${LOCAL_SETTINGS}: using ${LOCAL_SETTINGS_SAMPLE}. Copy it to ${LOCAL_SETTINGS} to change settings.`,
    );
  }
  if (host) printBanner(host);
} catch (e) {
  console.error(`The local host could not start: ${(e as Error).message}`);
  await azurite?.stop();
  process.exit(1);
}

let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (++signals > 1) process.exit(1);
    console.log(`${signal}: finishing running invocations (press Ctrl+C again to force)...`);
    void (async () => {
      let code = 0;
      try {
        await host?.stop();
        await hosts?.stop();
      } catch (e) {
        console.error(`Stopping the host failed: ${(e as Error).message}`);
        code = 1;
      }
      await azurite?.stop().catch(() => undefined);
      process.exit(code);
    })();
  });
}

function printBanner(h: LocalHost): void {
  const lines = [`Local Functions host listening on ${h.url}`, "", "Functions:"];
  for (const f of h.functions) {
    if (f.kind === "http") {
      const methods = (f.options.methods ?? ["GET", "POST"]).join(",");
      lines.push(
        `  ${f.name}: [${methods}] ${h.url}/${h.settings.routePrefix}/${f.options.route ?? f.name} (${f.options.authLevel ?? "anonymous"})`,
      );
    } else if (f.kind === "eventGrid") {
      lines.push(`  ${f.name}: eventGridTrigger ${h.url}/runtime/webhooks/EventGrid?functionName=${f.name}`);
    } else if (f.kind === "timer") {
      lines.push(`  ${f.name}: timerTrigger (${f.options.schedule})`);
    } else {
      lines.push(`  ${f.name}: queueTrigger (${f.options.queueName})`);
    }
  }
  lines.push(
    "",
    `Run a non-HTTP function: POST ${h.url}/admin/functions/<name> with the master key and {"input": "..."}`,
  );
  // Keys generated for this run only exist here; configured keys are never printed.
  for (const name of h.generatedKeys) lines.push(`Generated ${name} for this run: ${h[name]}`);
  if (h.generatedKeys.length > 0)
    lines.push("Set Host.FunctionKey / MasterKey / EventGridKey in local.settings.json to keep keys stable.");
  console.log(lines.join("\n"));
}

function printInstances(h: LocalHosts, configured: Partial<Record<string, string>>): void {
  const lines = [
    `Local Functions front end listening on ${h.url} (round robin over ${h.instances.length} instances)`,
  ];
  for (const i of h.instances) lines.push(`  instance ${i.index}: ${i.url} (pid ${i.pid ?? "down"})`);
  lines.push(
    "Every instance polls the same queues; timers (when on) fire on instance 0 only, as Azure's singleton lock does.",
  );
  for (const name of ["functionKey", "masterKey", "eventGridKey"] as const) {
    if (!configured[name]) lines.push(`Generated ${name} for this run: ${h.keys[name]}`);
  }
  console.log(lines.join("\n"));
}

function parseInstances(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 64)
    throw new Error(`--instances must be a whole number from 1 to 64, not "${value}".`);
  return count;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0-65535, not "${value}".`);
  return port;
}
