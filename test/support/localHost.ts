import { startLocalHost, type LocalHost, type StartLocalHostOptions } from "../../dev/host/index.js";
import type { Logger } from "../../src/lib/logger.js";
import type { RunningEmulator } from "../../dev/emulator/index.js";
import { useStarted } from "./suite.js";

/**
 * A local Functions host per suite. Options may be a function, evaluated in `beforeAll`, so they can
 * use values known only then (e.g. `azurite.connectionString`). Defaults suit tests: a free port,
 * timers off (run them with `host.invoke` or the admin API), fast queue polling, a captured log.
 */
export function useLocalHost(
  options: StartLocalHostOptions | (() => StartLocalHostOptions) = {},
): LocalHost & {
  readonly log: readonly string[];
} {
  const log = captureLogger();
  return useStarted(
    () => {
      const resolved = typeof options === "function" ? options() : options;
      return startLocalHost({
        port: 0,
        timers: "off",
        queuePollIntervalInMs: 200,
        logger: log,
        ...resolved,
      });
    },
    (host) => host.stop(),
    "The local host is not running: use it inside tests or hooks, after beforeAll.",
    {
      get log(): readonly string[] {
        return log.lines;
      },
    },
  );
}

/** A logger that keeps every line (level and text) for assertions and failure output. */
export function captureLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (message: string, ...args: unknown[]): void => {
      lines.push(
        `${level}: ${[message, ...args.map((a) => (a instanceof Error ? a.message : String(a)))].join(" ")}`,
      );
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Polls `probe` until it returns a defined value; fails with `what` after `timeoutInMs` (no timing assertions). */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  { timeoutInMs = 20_000, intervalInMs = 50 }: { timeoutInMs?: number; intervalInMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, intervalInMs));
  }
}

/** Subscribes the host's onResourceEvent webhook to the emulator's events of one subscription (no validation handshake). */
export function subscribeHostToEvents(
  emulator: Pick<RunningEmulator, "control">,
  host: Pick<LocalHost, "url" | "eventGridKey">,
  subscriptionId: string,
  schema: "EventGridSchema" | "CloudEventSchemaV1_0" = "EventGridSchema",
) {
  const url = new URL("/runtime/webhooks/EventGrid", host.url);
  url.searchParams.set("functionName", "onResourceEvent");
  url.searchParams.set("code", host.eventGridKey);
  return emulator.control.addEventSubscriber({
    endpointUrl: url.toString(),
    schema,
    topic: `/subscriptions/${subscriptionId}`,
    skipValidation: true,
  });
}

/** POSTs a delivery to the Event Grid webhook as Event Grid does. */
export function deliverEventGrid(
  host: Pick<LocalHost, "url" | "eventGridKey">,
  functionName: string,
  body: unknown,
  options: { eventType?: string; key?: string | null; contentType?: string } = {},
): Promise<Response> {
  const url = new URL("/runtime/webhooks/EventGrid", host.url);
  url.searchParams.set("functionName", functionName);
  const key = options.key === undefined ? host.eventGridKey : options.key;
  if (key !== null) url.searchParams.set("code", key);
  return fetch(url, {
    method: "POST",
    headers: {
      "aeg-event-type": options.eventType ?? "Notification",
      "content-type": options.contentType ?? "application/json",
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Runs a non-HTTP function through the admin API as an operator would (202; the run continues in the background). */
export function runThroughAdmin(
  host: Pick<LocalHost, "url" | "masterKey">,
  functionName: string,
  input?: string,
): Promise<Response> {
  return fetch(`${host.url}/admin/functions/${encodeURIComponent(functionName)}`, {
    method: "POST",
    headers: { "x-functions-key": host.masterKey, "content-type": "application/json" },
    body: JSON.stringify(input === undefined ? {} : { input }),
  });
}
