import { request as httpsRequest } from "node:https";
import type { EmulatorResponse, ServerRecord, ServerState } from "./provider.js";
import type { DeadLetter, DeliveryRecord, EventSubscriber, EventSubscriberConfig } from "./eventgrid.js";
import type { FaultConfig } from "./faults.js";
import { isGuid, lower } from "./ids.js";
import { armError } from "./responses.js";
import type { ControlHandler, OperationCounter, RequestLogEntry } from "./server.js";
import { serverEvent } from "./serverEvent.js";
import { DEFAULT_SERVER_SKU, defaultServerProperties, serverIdFor, type EmulatorSeed } from "./state.js";
import type { ThrottlingConfig } from "./throttle.js";

export const SERVER_STATES: readonly ServerState[] = [
  "Ready",
  "Provisioning",
  "Updating",
  "Stopped",
  "Starting",
  "Stopping",
  "Dropping",
  "Disabled",
  "Restarting",
  "Inaccessible",
];

export interface CreateServerSpec {
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  location: string;
  state?: ServerState;
  tags?: Record<string, string>;
  version?: string;
  storageSizeGB?: number;
  /** Properties over the defaults, as a seed's short form takes them (e.g. `replicationRole`). */
  properties?: Record<string, unknown>;
  /** Publish `ResourceWriteSuccess` as if created through ARM (default false). */
  publishEvent?: boolean;
}

export interface CountersSnapshot {
  operations: Record<string, OperationCounter>;
  totals: { count: number; reads: number; writes: number };
}

const ok = (body?: unknown): EmulatorResponse =>
  body === undefined ? { status: 204 } : { status: 200, body };

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new TypeError("The request body must be a JSON object.");
  }
  return body as Record<string, unknown>;
}

export function countersSnapshot(operations: Record<string, OperationCounter>): CountersSnapshot {
  const totals = { count: 0, reads: 0, writes: 0 };
  for (const counter of Object.values(operations)) {
    totals.count += counter.count;
    totals.reads += counter.reads;
    totals.writes += counter.writes;
  }
  return { operations, totals };
}

/** The `/_emulator/*` control API (loopback only, no bearer). Documented in the README. */
export const handleControl: ControlHandler = async (request, core) => {
  const { method, query } = request;
  const path = request.path.replace(/\/+$/u, "");
  const route = `${method.toUpperCase()} ${path.slice("/_emulator".length) || "/"}`;
  switch (route) {
    case "GET /health":
      return ok({ status: "ok", url: core.baseUrl() });
    case "GET /state":
      return ok(core.state.export());
    case "PUT /state":
    case "POST /state": {
      await core.importSeed(asObject(request.body) as EmulatorSeed, {
        merge: method.toUpperCase() === "POST",
      });
      return ok();
    }
    case "POST /reset":
      core.state.clear();
      core.lro.clear();
      core.eventGrid.clear();
      core.throttler.reset();
      core.clearRequestLog();
      core.resetCounters();
      return ok();
    case "POST /operations/complete":
      return ok({ completed: await core.lro.completeAll() });
    case "GET /faults":
      return ok(core.faults.config);
    case "PUT /faults":
      core.faults.configure(asObject(request.body) as FaultConfig);
      return ok();
    case "DELETE /faults":
      core.faults.configure({});
      return ok();
    case "GET /throttling":
      return ok(core.throttler.config);
    case "PUT /throttling":
      core.throttler.configure(asObject(request.body) as Partial<ThrottlingConfig>);
      return ok();
    case "GET /requests": {
      const since = Number.parseInt(query.get("since") ?? "0", 10) || 0;
      return ok(
        core
          .requestLog()
          .filter((entry) => entry.seq > since && !entry.operationName.startsWith("_emulator")),
      );
    }
    case "DELETE /requests":
      core.clearRequestLog();
      return ok();
    case "GET /counters":
      return ok(countersSnapshot(core.counters()));
    case "POST /counters/reset":
      core.resetCounters();
      return ok();
    case "GET /eventgrid/subscribers":
      return ok(core.eventGrid.list());
    case "POST /eventgrid/subscribers": {
      const config = asObject(request.body) as unknown as EventSubscriberConfig;
      if (typeof config.endpointUrl !== "string") throw new TypeError("endpointUrl is required.");
      const subscriber = await core.eventGrid.add(config);
      if (subscriber.provisioningState === "Failed") {
        core.eventGrid.remove(subscriber.id);
        return armError(
          400,
          "WebhookValidationHandshakeFailed",
          `Webhook validation handshake failed for ${config.endpointUrl}.`,
        );
      }
      return { status: 201, body: subscriber };
    }
    case "GET /eventgrid/deliveries":
      return ok(core.eventGrid.deliveries());
    case "GET /eventgrid/deadletters":
      return ok(core.eventGrid.deadLetters());
    case "DELETE /eventgrid/deliveries":
      core.eventGrid.clearDeliveries();
      return ok();
    case "GET /eventgrid/validate":
      return core.eventGrid.validate(query.get("id") ?? "", query.get("code") ?? "")
        ? ok({ validated: true })
        : armError(400, "InvalidValidationCode", "The validation code is not valid.");
    case "POST /servers": {
      const spec = asObject(request.body) as unknown as CreateServerSpec;
      if (!isGuid(String(spec.subscriptionId))) throw new TypeError("subscriptionId must be a GUID.");
      if (!spec.resourceGroupName || !spec.name || !spec.location) {
        throw new TypeError("resourceGroupName, name and location are required.");
      }
      if (spec.state && !SERVER_STATES.includes(spec.state))
        throw new TypeError(`Unknown server state '${spec.state}'.`);
      const server: ServerRecord = {
        id: serverIdFor(lower(spec.subscriptionId), spec.resourceGroupName, spec.name),
        subscriptionId: lower(spec.subscriptionId),
        resourceGroupName: spec.resourceGroupName,
        name: spec.name,
        location: spec.location,
        tags: { ...(spec.tags ?? {}) },
        properties: {
          ...defaultServerProperties(spec.name, spec.version, spec.storageSizeGB),
          ...(spec.properties ?? {}),
          state: spec.state ?? "Ready",
        },
        sku: { ...DEFAULT_SERVER_SKU },
        systemData: { createdAt: core.context.clock.nowIso() },
      };
      core.state.upsertServer(server);
      if (spec.publishEvent) {
        core.context.events.publish(serverEvent(server, "write"));
      }
      return { status: 201, body: server };
    }
    case "POST /servers/state": {
      const body = asObject(request.body);
      const server = core.context.servers.get(String(body.id ?? ""));
      if (!server) return armError(404, "ResourceNotFound", `Server '${String(body.id)}' was not found.`);
      const state = body.state as ServerState;
      if (!SERVER_STATES.includes(state)) throw new TypeError(`Unknown server state '${String(state)}'.`);
      server.properties.state = state;
      return ok(server);
    }
    default: {
      if (method.toUpperCase() === "DELETE" && path.startsWith("/_emulator/eventgrid/subscribers/")) {
        const id = decodeURIComponent(path.slice("/_emulator/eventgrid/subscribers/".length));
        return core.eventGrid.remove(id) ? ok() : armError(404, "NotFound", `No subscriber '${id}'.`);
      }
      return armError(404, "NotFound", `No control endpoint '${route}'.`);
    }
  }
};

export class ControlApiError extends Error {
  override readonly name = "ControlApiError";
  constructor(
    message: string,
    readonly statusCode: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Typed client for `/_emulator/*`. */
export interface ControlClient {
  health(): Promise<{ status: string; url: string }>;
  exportState(): Promise<EmulatorSeed>;
  /** Replaces the state (or merges into it with `{ merge: true }`). */
  loadState(seed: EmulatorSeed, options?: { merge?: boolean }): Promise<void>;
  /** Empties state, operations, subscribers, request log and counters. */
  reset(): Promise<void>;
  getFaults(): Promise<FaultConfig>;
  setFaults(config: FaultConfig): Promise<void>;
  clearFaults(): Promise<void>;
  getThrottling(): Promise<ThrottlingConfig>;
  setThrottling(config: Partial<ThrottlingConfig>): Promise<void>;
  /** ARM requests (control calls excluded), oldest first; `since` = last seq already seen. */
  getRequests(options?: { since?: number }): Promise<RequestLogEntry[]>;
  clearRequests(): Promise<void>;
  getCounters(): Promise<CountersSnapshot>;
  resetCounters(): Promise<void>;
  addEventSubscriber(config: EventSubscriberConfig): Promise<EventSubscriber>;
  removeEventSubscriber(id: string): Promise<void>;
  listEventSubscribers(): Promise<EventSubscriber[]>;
  getDeliveries(): Promise<DeliveryRecord[]>;
  /** Events given up on (not retried, attempts or time-to-live exhausted), as Event Grid would dead-letter them. */
  getDeadLetters(): Promise<DeadLetter[]>;
  /** Clears deliveries and dead letters. */
  clearDeliveries(): Promise<void>;
  createServer(spec: CreateServerSpec): Promise<ServerRecord>;
  setServerState(serverId: string, state: ServerState): Promise<ServerRecord>;
  /** Finishes every running long-running operation now, whatever its remaining time; returns how many. */
  completeOperations(): Promise<{ completed: number }>;
  /** Any control endpoint, e.g. a provider's own: `invoke("POST", "/dataprotection/vaults", spec)`. */
  invoke<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function createControlClient(baseUrl: string, caCert: string): ControlClient {
  const call = <T>(method: string, path: string, body?: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpsRequest(
        `${baseUrl}/_emulator${path}`,
        {
          method,
          ca: caCert,
          headers: payload
            ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const parsed = text ? (JSON.parse(text) as unknown) : undefined;
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
              reject(new ControlApiError(error?.message ?? `HTTP ${status}`, status, error?.code));
            } else resolve(parsed as T);
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  return {
    health: () => call("GET", "/health"),
    exportState: () => call("GET", "/state"),
    loadState: (seed, options = {}) => call(options.merge ? "POST" : "PUT", "/state", seed),
    reset: () => call("POST", "/reset"),
    getFaults: () => call("GET", "/faults"),
    setFaults: (config) => call("PUT", "/faults", config),
    clearFaults: () => call("DELETE", "/faults"),
    getThrottling: () => call("GET", "/throttling"),
    setThrottling: (config) => call("PUT", "/throttling", config),
    getRequests: (options = {}) => call("GET", `/requests?since=${options.since ?? 0}`),
    clearRequests: () => call("DELETE", "/requests"),
    getCounters: () => call("GET", "/counters"),
    resetCounters: () => call("POST", "/counters/reset"),
    addEventSubscriber: (config) => call("POST", "/eventgrid/subscribers", config),
    removeEventSubscriber: (id) => call("DELETE", `/eventgrid/subscribers/${encodeURIComponent(id)}`),
    listEventSubscribers: () => call("GET", "/eventgrid/subscribers"),
    getDeliveries: () => call("GET", "/eventgrid/deliveries"),
    getDeadLetters: () => call("GET", "/eventgrid/deadletters"),
    clearDeliveries: () => call("DELETE", "/eventgrid/deliveries"),
    createServer: (spec) => call("POST", "/servers", spec),
    setServerState: (serverId, state) => call("POST", "/servers/state", { id: serverId, state }),
    completeOperations: () => call("POST", "/operations/complete"),
    invoke: (method, path, body) => call(method, path.startsWith("/") ? path : `/${path}`, body),
  };
}
