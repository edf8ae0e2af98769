import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { QueueServiceClient } from "@azure/storage-queue";
import type { FunctionDeclaration } from "../../src/functions/registry.js";
import { resetConfigCache } from "../../src/lib/config/index.js";
import { ensureError } from "../../src/lib/errors.js";
import { createConsoleLogger, type Logger } from "../../src/lib/logger.js";
import { parseDelivery } from "./eventGrid.js";
import { hostSettings, readHostJson, type HostJson, type HostSettings } from "./hostJson.js";
import { buildRoutes, findRoute, toHttpRequest, writeHttpResult, type HttpRoute } from "./httpFunctions.js";
import { Invoker } from "./invocation.js";
import {
  isAuthorized,
  presentedKey,
  resolveKeys,
  unauthorizedReason,
  type HostKeys,
  type KeyLevel,
} from "./keys.js";
import { startQueueListener, type QueueListener } from "./queues.js";
import { HostHttpError, parseJson, readBody, sendJson, sendText } from "./respond.js";
import {
  parseSchedule,
  resolveSettingReference,
  scheduleTimer,
  timerInfo,
  type ScheduledTimer,
  type TimerSchedule,
} from "./timers.js";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEFAULT_PORT = 7071;
/** Bodies above this are refused with 413 (Event Grid's own limit for a delivery is 1 MB). */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024;

export interface StartLocalHostOptions {
  /** Default 7071; 0 picks a free port (read it back from `url`/`port`). */
  port?: number;
  /** Default 127.0.0.1: the local host never listens beyond loopback unless told to. */
  hostname?: string;
  /** App settings, merged into `process.env` while the host runs (restored on stop). */
  env?: Record<string, string | undefined>;
  /** Functions to serve; default: the app's own, from src/functions/index.ts via the registry. */
  declarations?: readonly FunctionDeclaration[];
  /** host.json content; default: the repository's host.json. */
  hostJson?: HostJson;
  /** Keys; any left out is generated (see `generatedKeys`). */
  keys?: Partial<HostKeys>;
  /** Longest wait between polls of an empty queue (host.json maxPollingInterval; tests use 100–500 ms). */
  queuePollIntervalInMs?: number;
  /** How long a failed message stays hidden before its retry (host.json visibilityTimeout; tests use 0). */
  visibilityTimeoutInMs?: number;
  /** "off": timers never fire on schedule (nor on startup); run them with `invoke` or the admin API. */
  timers?: "on" | "off";
  maxRequestBodyBytes?: number;
  logger?: Logger;
}

export interface LocalHost {
  /** Base URL, e.g. http://127.0.0.1:7071 (HTTP functions live under `${url}/api/`). */
  readonly url: string;
  readonly port: number;
  readonly functionKey: string;
  readonly masterKey: string;
  /** Event Grid webhook key (`eventgrid_extension` system key in Azure). */
  readonly eventGridKey: string;
  /** Names of the keys generated because none was configured. */
  readonly generatedKeys: ReadonlyArray<keyof HostKeys>;
  readonly functions: readonly FunctionDeclaration[];
  readonly settings: HostSettings;
  /**
   * Runs a non-HTTP function in process and resolves with its result (rejects with its error):
   * timers get a Timer, queue functions `input` as the message value, Event Grid functions `input` as the event.
   */
  invoke(name: string, input?: unknown, options?: InvokeOptions): Promise<unknown>;
  /** Resolves once no invocation is running. */
  idle(): Promise<void>;
  /** Graceful: stops accepting work, lets running invocations and received messages finish. Idempotent. */
  stop(): Promise<void>;
}

export interface InvokeOptions {
  /** Trigger metadata the handler sees, e.g. `{ dequeueCount: 5 }` for a queue function's last attempt. */
  triggerMetadata?: Record<string, unknown>;
}

export async function startLocalHost(options: StartLocalHostOptions = {}): Promise<LocalHost> {
  const logger = options.logger ?? createConsoleLogger("host");
  const restoreEnv = applyEnv(options.env ?? {});
  const cleanups: Array<() => Promise<void> | void> = [restoreEnv];
  try {
    const json = options.hostJson ?? (await readHostJson(join(REPO_ROOT, "host.json")));
    const base = hostSettings(json);
    const settings: HostSettings = {
      ...base,
      queues: {
        ...base.queues,
        maxPollingIntervalInMs: options.queuePollIntervalInMs ?? base.queues.maxPollingIntervalInMs,
        visibilityTimeoutInMs: options.visibilityTimeoutInMs ?? base.queues.visibilityTimeoutInMs,
      },
    };
    const functions = options.declarations ?? (await loadAppDeclarations());
    const byName = new Map(functions.map((f) => [f.name.toLowerCase(), f]));
    for (const f of functions) {
      const outputs = (f.options.extraOutputs ?? []).length + (f.kind !== "http" && f.options.return ? 1 : 0);
      // The app writes through src/lib/store; a binding would silently do nothing here, so say so.
      if (outputs > 0) logger.warn(`${f.name}: output bindings are not run by the local host.`);
    }
    const routes = buildRoutes(functions);
    const schedules = new Map<string, TimerSchedule>();
    for (const f of functions) {
      if (f.kind !== "timer") continue;
      const expression = resolveSettingReference(
        f.options.schedule,
        process.env,
        `Timer ${f.name}: the schedule`,
      );
      schedules.set(f.name, parseSchedule(expression, f.name));
    }
    const keys = resolveKeys(options.keys);
    const invoker = new Invoker(logger);
    const maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;

    const runNonHttp = (
      declaration: FunctionDeclaration,
      input: unknown,
      reason: string,
      triggerMetadata?: Record<string, unknown>,
    ): Promise<unknown> => {
      switch (declaration.kind) {
        case "http":
          throw new HostHttpError(400, `${declaration.name} is an HTTP function: call its route instead.`);
        case "timer":
          return invoker.invoke({
            declaration,
            input: timerInfo(false, undefined, undefined),
            reason,
            triggerMetadata,
          });
        case "storageQueue":
        case "eventGrid":
          return invoker.invoke({ declaration, input, reason, triggerMetadata });
      }
    };

    let stopping = false;
    const active = new Set<Promise<void>>();
    const server = createServer((req, res) => {
      const work = handle(req, res).catch((e: unknown) => {
        logger.error(`Local host: ${req.method} ${req.url} failed: ${ensureError(e).message}`);
        try {
          sendText(res, 500, "The local host failed to handle the request.");
        } catch {
          res.destroy(); // the client is gone; nothing left to answer
        }
      });
      active.add(work);
      void work.finally(() => active.delete(work));
    });

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const method = (req.method ?? "GET").toUpperCase();
      let url: URL;
      try {
        url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
      } catch {
        sendText(res, 400, "The request URL is not valid.");
        return;
      }
      try {
        if (stopping)
          throw new HostHttpError(503, "The local host is shutting down.", { connection: "close" });
        const path = url.pathname;
        if (/^\/admin\/host\/status\/?$/i.test(path)) {
          authorize("admin", req, url);
          sendJson(res, 200, { state: "Running", version: "local", functions: functions.length });
          return;
        }
        const admin = /^\/admin\/functions\/([^/]+)\/?$/i.exec(path);
        if (admin) return await adminInvoke(req, res, url, method, decodeURIComponent(admin[1] as string));
        if (/^\/runtime\/webhooks\/eventgrid\/?$/i.test(path)) return await eventGrid(req, res, url, method);
        const prefix = settings.routePrefix ? `/${settings.routePrefix}` : "";
        if (
          prefix === "" ||
          path.toLowerCase() === prefix.toLowerCase() ||
          path.toLowerCase().startsWith(`${prefix.toLowerCase()}/`)
        ) {
          return await httpFunction(req, res, url, method, path.slice(prefix.length));
        }
        throw new HostHttpError(404, `No function serves the path ${path}.`);
      } catch (e) {
        if (!(e instanceof HostHttpError)) throw e;
        sendText(res, e.status, e.message, e.headers);
      }
    };

    const authorize = (level: KeyLevel, req: IncomingMessage, url: URL): void => {
      const key = presentedKey(url, req.headers);
      if (!isAuthorized(level, key, keys)) throw new HostHttpError(401, unauthorizedReason(level, key));
    };

    const httpFunction = async (
      req: IncomingMessage,
      res: ServerResponse,
      url: URL,
      method: string,
      path: string,
    ) => {
      const { route, params } = findRoute(routes, method, path);
      authorize(route.authLevel, req, url);
      const body = await readBody(req, maxBody);
      const request = toHttpRequest(req, url, body, params);
      let result: unknown;
      try {
        result = await invoker.invoke({
          declaration: route.declaration,
          input: request,
          reason: `This function was programmatically called via the host APIs.`,
        });
      } catch {
        throw new HostHttpError(
          500,
          `Exception while executing function: Functions.${route.declaration.name}.`,
        );
      }
      await writeResult(res, method, result, route);
    };

    const writeResult = async (res: ServerResponse, method: string, result: unknown, route: HttpRoute) => {
      try {
        await writeHttpResult(res, method, result);
      } catch (e) {
        logger.error(
          `Functions.${route.declaration.name} returned a response the host cannot send: ${ensureError(e).message}`,
        );
        throw new HostHttpError(500, `Functions.${route.declaration.name} returned an invalid response.`);
      }
    };

    const adminInvoke = async (
      req: IncomingMessage,
      res: ServerResponse,
      url: URL,
      method: string,
      name: string,
    ) => {
      authorize("admin", req, url);
      if (method !== "POST") throw new HostHttpError(405, "Use POST to run a function.", { allow: "POST" });
      const declaration = byName.get(name.toLowerCase());
      if (!declaration) throw new HostHttpError(404, `No function named "${name}".`);
      const body = await readBody(req, maxBody);
      const parsed = body.length === 0 ? {} : parseJson(body, "The body");
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new HostHttpError(400, 'The body must be a JSON object such as {"input": "..."}.');
      }
      const input = (parsed as { input?: unknown }).input;
      if (input !== undefined && input !== null && typeof input !== "string") {
        throw new HostHttpError(400, "input must be a string.");
      }
      const value = adminInput(declaration, input ?? "");
      void runNonHttp(
        declaration,
        value,
        "This function was programmatically called via the host APIs.",
      ).catch(() => undefined);
      res.writeHead(202, { "content-length": "0" });
      res.end();
    };

    const eventGrid = async (req: IncomingMessage, res: ServerResponse, url: URL, method: string) => {
      if (method !== "POST" && method !== "OPTIONS") {
        throw new HostHttpError(
          405,
          "The Event Grid webhook accepts POST (and OPTIONS for the CloudEvents handshake).",
          {
            allow: "POST, OPTIONS",
          },
        );
      }
      const name = url.searchParams.get("functionName");
      if (!name) throw new HostHttpError(400, "The functionName query parameter is required.");
      authorize("eventGrid", req, url);
      const declaration = byName.get(name.toLowerCase());
      if (!declaration || declaration.kind !== "eventGrid")
        throw new HostHttpError(404, `No Event Grid function named "${name}".`);
      if (method === "OPTIONS") {
        // CloudEvents webhook abuse protection: echo the origin to allow deliveries from it.
        const origin = req.headers["webhook-request-origin"];
        if (typeof origin !== "string" || origin === "") {
          throw new HostHttpError(
            400,
            "The WebHook-Request-Origin header is required for the validation handshake.",
          );
        }
        res.writeHead(200, {
          "webhook-allowed-origin": origin,
          "webhook-allowed-rate": "*",
          "content-length": "0",
        });
        res.end();
        return;
      }
      const eventType = String(req.headers["aeg-event-type"] ?? "").toLowerCase();
      if (eventType === "unsubscribe") {
        res.writeHead(202, { "content-length": "0" });
        res.end();
        return;
      }
      if (eventType !== "notification" && eventType !== "subscriptionvalidation") {
        throw new HostHttpError(
          400,
          "The aeg-event-type header must be Notification or SubscriptionValidation.",
        );
      }
      const body = await readBody(req, maxBody);
      let delivery;
      try {
        delivery = parseDelivery(eventType, parseJson(body, "The body"));
      } catch (e) {
        if (e instanceof HostHttpError) throw e;
        throw new HostHttpError(400, ensureError(e).message);
      }
      if (delivery.kind === "validation") {
        sendJson(res, 200, { validationResponse: delivery.validationCode });
        return;
      }
      // As the Event Grid extension does: every event of the delivery runs (concurrently), and one failure
      // fails the whole delivery, which Event Grid then sends again.
      const results = await Promise.allSettled(
        delivery.events.map((event) =>
          invoker.invoke({
            declaration,
            input: event,
            reason: `EventGrid trigger fired for event ${String(event["id"])}`,
          }),
        ),
      );
      const failed = results.findIndex((r) => r.status === "rejected");
      if (failed >= 0) {
        throw new HostHttpError(
          500,
          `Functions.${declaration.name} failed on event ${String(delivery.events[failed]?.["id"])}; Event Grid retries the delivery.`,
        );
      }
      res.writeHead(200, { "content-length": "0" });
      res.end();
    };

    const queueTriggers = functions.flatMap((f) => {
      if (f.kind !== "storageQueue") return [];
      const queueName = resolveSettingReference(
        f.options.queueName,
        process.env,
        `Queue trigger ${f.name}: the queue name`,
      );
      return [{ f, queueName, service: queueService(f.options.connection || "AzureWebJobsStorage", f.name) }];
    });

    await listen(server, options.port ?? DEFAULT_PORT, options.hostname ?? "127.0.0.1");
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address() as AddressInfo;
    const port = address.port;
    const displayHost = address.family === "IPv6" ? `[${address.address}]` : address.address;

    const timers: ScheduledTimer[] = [];
    if ((options.timers ?? "on") === "on") {
      for (const f of functions) {
        if (f.kind !== "timer") continue;
        timers.push(
          scheduleTimer(
            schedules.get(f.name) as TimerSchedule,
            (timer) =>
              invoker.invoke({
                declaration: f,
                input: timer,
                reason: `Timer fired at ${new Date().toISOString()}`,
              }),
            { runOnStartup: f.options.runOnStartup },
          ),
        );
      }
    }

    const listeners: QueueListener[] = [];
    for (const { f, queueName, service } of queueTriggers) {
      listeners.push(
        startQueueListener({
          functionName: f.name,
          queue: service.getQueueClient(queueName),
          poison: service.getQueueClient(`${queueName}-poison`),
          settings: settings.queues,
          // Longer than any run can last (functionTimeout), so a live run's message never reappears; a killed
          // process's messages come back after it. A time-scaled host.json scales this too.
          processingVisibilityInMs:
            settings.functionTimeoutInMs + Math.min(settings.functionTimeoutInMs, 60_000),
          logger,
          invoke: (input, triggerMetadata) =>
            invoker.invoke({
              declaration: f,
              input,
              triggerMetadata,
              reason: `New queue message detected on '${queueName}'.`,
            }),
        }),
      );
    }

    let stopped: Promise<void> | undefined;
    return {
      url: `http://${displayHost}:${port}`,
      port,
      functionKey: keys.functionKey,
      masterKey: keys.masterKey,
      eventGridKey: keys.eventGridKey,
      generatedKeys: keys.generated,
      functions,
      settings,
      invoke(name, input, invokeOptions) {
        const declaration = byName.get(name.toLowerCase());
        if (!declaration) return Promise.reject(new RangeError(`No function named "${name}".`));
        try {
          return runNonHttp(
            declaration,
            input,
            "This function was programmatically called via the host APIs.",
            invokeOptions?.triggerMetadata,
          );
        } catch (e) {
          return Promise.reject(new RangeError(ensureError(e).message));
        }
      },
      idle: () => invoker.idle(),
      stop() {
        stopped ??= (async () => {
          stopping = true;
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          timers.forEach((t) => t.stop());
          await Promise.all(listeners.map((l) => l.stop()));
          while (active.size > 0) await Promise.all([...active]);
          await invoker.idle();
          server.closeAllConnections();
          await closed;
          restoreEnv();
        })();
        return stopped;
      },
    };
  } catch (e) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    throw e;
  }
}

/** The admin API's `input` string as the trigger would have delivered it. */
function adminInput(declaration: FunctionDeclaration, input: string): unknown {
  if (declaration.kind === "storageQueue") {
    try {
      return JSON.parse(input);
    } catch {
      return input;
    }
  }
  if (declaration.kind === "eventGrid") {
    const event = parseJson(Buffer.from(input, "utf8"), "input");
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new HostHttpError(400, "input must be one event as a JSON object.");
    }
    return event;
  }
  return input;
}

async function loadAppDeclarations(): Promise<readonly FunctionDeclaration[]> {
  await import("../../src/functions/index.js");
  const { declarations } = await import("../../src/functions/registry.js");
  return declarations();
}

function queueService(connectionSetting: string, functionName: string): QueueServiceClient {
  const connectionString = process.env[connectionSetting];
  if (!connectionString) {
    throw new RangeError(
      `Queue trigger ${functionName}: the connection setting ${connectionSetting} is not set (locally: an Azurite connection string).`,
    );
  }
  // Few, short SDK retries: the poll loop already retries with backoff, and stop must not wait on a dead endpoint.
  return QueueServiceClient.fromConnectionString(connectionString, {
    retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 1000, tryTimeoutInMs: 30_000 },
  });
}

function applyEnv(env: Record<string, string | undefined>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(env)) {
    previous.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetConfigCache();
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetConfigCache();
  };
}

function listen(server: ReturnType<typeof createServer>, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(
        e.code === "EADDRINUSE"
          ? new Error(
              `Port ${port} on ${hostname} is in use: set Host.LocalHttpPort in local.settings.json or pass --port.`,
            )
          : e,
      );
    };
    server.once("error", onError);
    server.listen(port, hostname, () => {
      server.removeListener("error", onError);
      resolve();
    });
  });
}
