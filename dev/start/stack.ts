import { mkdir, appendFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { format } from "node:util";
import { startAzurite, type AzuriteHandle } from "../azurite/index.js";
import { startEmulator, trustEmulatorCertificate, type RunningEmulator } from "../emulator/index.js";
import { REPO_ROOT, startLocalHost, readLocalSettings, type LocalHost } from "../host/index.js";
import type { Logger } from "../../src/lib/logger.js";
import { startDevAuth, type DevAuth } from "./devAuth.js";
import { demoJobHistory, withJobHistory } from "./history.js";
import { DEMO_POLICY_MAP, DEMO_MARKER_TAG, loadEstate, vaultMapSetting, type Estate } from "./estate.js";
import { assertPortFree } from "./ports.js";

export interface StartStackOptions {
  /** Local Functions host port (default 7071; 0 = any free port). */
  port?: number;
  /** ARM emulator port (default 8443; 0 = any free port). Ignored with `target: "azure"`. */
  emulatorPort?: number;
  /** `emulator` (default): the demo estate in the ARM emulator. `azure`: real ARM with DefaultAzureCredential. */
  target?: "emulator" | "azure";
  /** Seed of the emulator (default dev/emulator/seeds/demo-estate.json). */
  seedPath?: string;
  /** Emulator time and the app's own waits run this many times faster (default 120). */
  timeScale?: number;
  /** NCRONTAB of the job poller (default every 2 s locally). */
  pollSchedule?: string;
  /** Where host and app logs go (default .local/npm-start.log); `console` prints them. */
  logFile?: string | "console";
  /** Seed seven days of demo job history (default true with the emulator). */
  history?: boolean;
  /** Extra app settings (win over everything else). */
  env?: Record<string, string>;
}

export interface Stack {
  readonly target: "emulator" | "azure";
  readonly host: LocalHost;
  readonly azurite: AzuriteHandle;
  readonly auth: DevAuth;
  /** Absent with `target: "azure"`. */
  readonly emulator?: RunningEmulator;
  /** Absent with `target: "azure"`. */
  readonly estate?: Estate;
  /** Development tokens: Backup.Reader, Backup.Operator and Backup.Restore (a restore needs its own role). */
  readonly tokens: { reader: string; operator: string; restorer: string };
  /** The settings the app runs with. */
  readonly settings: Record<string, string>;
  readonly logFile?: string;
  /** `…/api/dashboard?code=<function key>#token=<token>`: opens signed in, as operator unless `reader`. */
  dashboardUrl(role?: "reader" | "operator" | "restorer"): string;
  /** Stops host, emulator, Azurite and the key server, in that order; idempotent. */
  stop(): Promise<void>;
}

export const DEFAULT_TIME_SCALE = 120;

/**
 * Everything `npm start` runs, in this process: Azurite (child process), the ARM emulator with the demo
 * estate, a loopback JWKS minting development tokens, and the local host serving every function, with the
 * emulator's system topic subscribed to the host's Event Grid endpoint.
 */
export async function startStack(options: StartStackOptions = {}): Promise<Stack> {
  const target = options.target ?? "emulator";
  const port = options.port ?? 7071;
  const emulatorPort = options.emulatorPort ?? 8443;
  await assertPortFree(port, "local Functions host", "--port");
  if (target === "emulator") await assertPortFree(emulatorPort, "ARM emulator", "--emulator-port");

  const logFile =
    options.logFile === "console"
      ? undefined
      : (options.logFile ?? join(REPO_ROOT, ".local", "npm-start.log"));
  if (logFile) await mkdir(dirname(logFile), { recursive: true });
  const logger = fileLogger(logFile);

  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const auth = await startDevAuth();
    stops.push(() => auth.stop());
    const azurite = await startAzurite();
    stops.push(() => azurite.stop());

    const timeScale = options.timeScale ?? DEFAULT_TIME_SCALE;
    let emulator: RunningEmulator | undefined;
    let estate: Estate | undefined;
    let armSettings: Record<string, string>;
    if (target === "emulator") {
      estate = await loadEstate(options.seedPath);
      emulator = await startEmulator({
        port: emulatorPort,
        seed: options.history === false ? estate.seed : withJobHistory(estate.seed, demoJobHistory(estate)),
        timeScale,
        // A demo server "created" by the story is Ready in a few seconds of real time.
        provisioningDelayInMs: 240_000,
        // Restores write their files into this Azurite's blob containers.
        blobConnectionString: azurite.connectionString,
      });
      stops.push(() => emulator?.stop() ?? Promise.resolve());
      trustEmulatorCertificate(emulator.caCert);
      armSettings = {
        PGFLEX_ARM_ENDPOINT: emulator.url,
        PGFLEX_ARM_CREDENTIAL: "emulator",
        PGFLEX_SCOPES: estate.subscriptionIds.join(","),
        PGFLEX_POLICY_MAP: DEMO_POLICY_MAP,
        PGFLEX_VAULT_MAP: vaultMapSetting(estate.vaultMap),
        PGFLEX_VAULT_MARKER_TAG: DEMO_MARKER_TAG,
        PGFLEX_TIME_SCALE: String(timeScale),
        PGFLEX_POLL_SCHEDULE: options.pollSchedule ?? "*/2 * * * * *",
        // The demo container (account pgflexrestoresdemo, container pgflex-restores): restores go nowhere else.
        ...(estate.restoreTargets.length ? { PGFLEX_RESTORE_TARGETS: estate.restoreTargets.join(",") } : {}),
        // Restore tests (POST /api/restoreTests) restore into the same demo container.
        ...(estate.restoreTargets[0] ? { PGFLEX_RESTORE_TEST_TARGET: estate.restoreTargets[0] } : {}),
      };
    } else {
      // Real Azure: the settings of local.settings.json, tokens from DefaultAzureCredential (az login).
      const local = await readLocalSettings(REPO_ROOT);
      armSettings = {
        ...Object.fromEntries(Object.entries(local.values).filter(([, v]) => v !== "")),
        // The sample points at the emulator; real Azure means the public cloud unless another one is named.
        PGFLEX_ARM_ENDPOINT: isLoopback(local.values["PGFLEX_ARM_ENDPOINT"])
          ? "https://management.azure.com"
          : (local.values["PGFLEX_ARM_ENDPOINT"] as string),
        PGFLEX_ARM_CREDENTIAL: "default",
        PGFLEX_TIME_SCALE: "1",
      };
    }

    const settings: Record<string, string> = {
      PGFLEX_LOG_LEVEL: "warn",
      ...armSettings,
      AzureWebJobsStorage: azurite.connectionString,
      ...auth.settings,
      ...(options.env ?? {}),
    };
    const host = await startLocalHost({
      port,
      env: settings,
      logger,
      queuePollIntervalInMs: 250,
      visibilityTimeoutInMs: 1_000,
    });
    stops.push(() => host.stop());

    if (emulator && estate) {
      const endpointUrl = `${host.url}/runtime/webhooks/EventGrid?functionName=onResourceEvent&code=${encodeURIComponent(host.eventGridKey)}`;
      for (const subscriptionId of estate.subscriptionIds) {
        await emulator.control.addEventSubscriber({
          endpointUrl,
          schema: "EventGridSchema",
          topic: `/subscriptions/${subscriptionId}`,
          filter: {
            includedEventTypes: [
              "Microsoft.Resources.ResourceWriteSuccess",
              "Microsoft.Resources.ResourceDeleteSuccess",
              "Microsoft.Resources.ResourceActionSuccess",
            ],
          },
        });
      }
    }

    const tokens = {
      reader: await auth.mint("Backup.Reader"),
      operator: await auth.mint("Backup.Operator"),
      restorer: await auth.mint("Backup.Restore"),
    };
    let stopped: Promise<void> | undefined;
    return {
      target,
      host,
      azurite,
      auth,
      ...(emulator ? { emulator } : {}),
      ...(estate ? { estate } : {}),
      tokens,
      settings,
      ...(logFile ? { logFile } : {}),
      dashboardUrl: (role = "operator") =>
        `${host.url}/api/dashboard?code=${encodeURIComponent(host.functionKey)}#token=${tokens[role]}`,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** Host and app diagnostics go to a file so the console tells only the story. */
function fileLogger(path: string | undefined): Logger {
  const write =
    (level: string, sink: (line: string) => void) =>
    (message: string, ...args: unknown[]) =>
      sink(`${new Date().toISOString()} ${level} ${format(message, ...args)}`);
  const sink = (line: string): void => {
    if (path) void appendFile(path, `${line}\n`).catch(() => undefined);
    else process.stderr.write(`${line}\n`);
  };
  return {
    debug: write("debug", sink),
    info: write("info", sink),
    warn: write("warn", sink),
    error: write("error", sink),
  };
}

function isLoopback(url: string | undefined): boolean {
  if (!url) return true;
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host.startsWith("127.") || host === "[::1]";
  } catch {
    return true;
  }
}
