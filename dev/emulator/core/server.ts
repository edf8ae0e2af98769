import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type {
  EmulatorProvider,
  EmulatorRequest,
  EmulatorResponse,
  HttpMethod,
  OperationKind,
  ProviderContext,
  ProviderFactoryOptions,
  ServerRecord,
  RouteDefinition,
} from "./provider.js";
import { createClock, createScheduler } from "./clock.js";
import { createEventGrid, type EventGrid, type EventSubscriberConfig } from "./eventgrid.js";
import { createFaultInjector, type FaultConfig, type FaultInjector } from "./faults.js";
import { isGuid, isResourceGroupName, lower, parseResourceId } from "./ids.js";
import { createLroRegistry, type LroRegistry } from "./lro.js";
import { createRandom } from "./random.js";
import { createRoleChecker } from "./rbac.js";
import { armError, responseHelpers } from "./responses.js";
import { createRouter, type Router } from "./router.js";
import { createState, type EmulatorSeed, type EmulatorState } from "./state.js";
import { createThrottler, type Throttler, type ThrottlingConfig } from "./throttle.js";
import { instantiate, type ProviderSource } from "./providers.js";
import {
  callerFromToken,
  EMULATOR_ADMIN_PRINCIPAL_ID,
  isJsonContentType,
  isLoopback,
  jsonBody,
  readBody,
  send,
} from "./http.js";
import { createMetrics, type OperationCounter, type RequestLogEntry } from "./metrics.js";

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
export { EMULATOR_ADMIN_PRINCIPAL_ID } from "./http.js";
export type { OperationCounter, RequestLogEntry } from "./metrics.js";

export interface CoreOptions {
  host: string;
  timeScale: number;
  provisioningDelayInMs: number;
  rbacPropagationDelayInMs: number;
  pageSize: number;
  region: string;
  maxBodyBytes: number;
  faults: FaultConfig;
  throttling: ThrottlingConfig;
  knownSubscriptionsOnly: boolean;
  providerOptions: Record<string, unknown>;
  verbose: boolean;
}

export interface ControlHandler {
  (
    request: { method: string; path: string; query: URLSearchParams; body: unknown },
    core: EmulatorCore,
  ): Promise<EmulatorResponse>;
}

export interface EmulatorCore {
  readonly state: EmulatorState;
  readonly faults: FaultInjector;
  readonly throttler: Throttler;
  readonly eventGrid: EventGrid;
  readonly lro: LroRegistry;
  readonly context: ProviderContext;
  readonly providers: EmulatorProvider[];
  readonly options: CoreOptions;
  requestLog(): RequestLogEntry[];
  clearRequestLog(): void;
  counters(): Record<string, OperationCounter>;
  resetCounters(): void;
  notifyStateLoaded(): void;
  /** Imports a seed (replacing the state, or merged into it), adds its event subscribers, tells providers. */
  importSeed(seed: EmulatorSeed, options?: { merge?: boolean }): Promise<void>;
  baseUrl(): string;
  listen(port: number): Promise<number>;
  stop(): Promise<void>;
}

interface Dispatch {
  route?: RouteDefinition;
  operationName: string;
  kind: OperationKind;
  fault?: string;
}

const currentOperation = new AsyncLocalStorage<string>();

export async function createEmulatorCore(
  sources: readonly ProviderSource[],
  options: CoreOptions,
  tls: { key: string; cert: string },
  control: ControlHandler,
  faultSeed?: number,
): Promise<EmulatorCore> {
  let port = 0;
  const log = (message: string): void => {
    if (options.verbose) process.stderr.write(`[arm-emulator] ${message}\n`);
  };
  const clock = createClock(options.timeScale);
  const scheduler = createScheduler(clock, log);
  const random = createRandom(faultSeed);
  const state = createState();
  const faults = createFaultInjector({ ...options.faults, seed: options.faults.seed ?? faultSeed });
  const throttler = createThrottler(clock, options.throttling);
  const baseUrl = (): string =>
    `https://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  const eventGrid = createEventGrid({
    clock,
    scheduler,
    random,
    log,
    validationUrlFor: (id, code) =>
      `${baseUrl()}/_emulator/eventgrid/validate?id=${encodeURIComponent(id)}&code=${encodeURIComponent(code)}`,
  });
  const lro = createLroRegistry({ clock, scheduler, newGuid: () => random.guid(), baseUrl, log });
  const providerOptions: ProviderFactoryOptions = {
    timeScale: options.timeScale,
    provisioningDelayInMs: options.provisioningDelayInMs,
    rbacPropagationDelayInMs: options.rbacPropagationDelayInMs,
    pageSize: options.pageSize,
    providerOptions: options.providerOptions,
  };

  const context: ProviderContext = {
    state,
    clock,
    scheduler,
    // Providers keep the context they got in routes(): the running route is found through async context.
    lro: lro.helpersFor(() => currentOperation.getStore() ?? "Operation"),
    rbac: createRoleChecker(() => state.roleAssignments.values(), clock),
    servers: {
      get: (id) => state.servers.get(lower(id.replace(/\/+$/u, ""))),
      list: (filter = {}) => {
        // The filter is lower-cased once, not once per server (100,000 servers are listed page by page).
        const subscriptionId = filter.subscriptionId ? lower(filter.subscriptionId) : undefined;
        const resourceGroupName = filter.resourceGroupName ? lower(filter.resourceGroupName) : undefined;
        const out: ServerRecord[] = [];
        for (const server of state.servers.values()) {
          if (subscriptionId !== undefined && lower(server.subscriptionId) !== subscriptionId) continue;
          if (resourceGroupName !== undefined && lower(server.resourceGroupName) !== resourceGroupName)
            continue;
          out.push(server);
        }
        return out;
      },
    },
    pager: {
      page(request, items, pageOptions = {}) {
        const size = Math.max(1, pageOptions.pageSize ?? options.pageSize);
        const skip = Number.parseInt(request.query.$skipToken ?? request.query.$skiptoken ?? "0", 10) || 0;
        const value = items.slice(skip, skip + size);
        if (skip + size >= items.length) return { value };
        const query = new URLSearchParams();
        for (const [key, val] of Object.entries(request.query)) {
          if (lower(key) !== "$skiptoken") query.set(key, val);
        }
        query.set("$skipToken", String(skip + size));
        return { value, nextLink: `${baseUrl()}${request.path}?${query.toString()}` };
      },
    },
    events: eventGrid.publisher,
    respond: responseHelpers,
    baseUrl,
    newGuid: () => random.guid(),
    options: providerOptions,
    log,
  };

  const providers = sources.map((source) => instantiate(source, providerOptions));
  const routes = providers.flatMap((provider) => provider.routes(context));
  const router: Router = createRouter(routes);
  const controlRouter: Router = createRouter(
    providers.flatMap((provider) =>
      (provider.controlRoutes?.(context) ?? []).map((route) => ({
        ...route,
        path: `/_emulator/${provider.name}/${route.path.replace(/^\/+/u, "")}`,
      })),
    ),
  );

  /** A provider's control route, if one matches: same request shape as ARM routes. */
  async function providerControl(
    req: IncomingMessage,
    url: URL,
    body: unknown,
    requestId: string,
  ): Promise<EmulatorResponse | undefined> {
    const method = (req.method ?? "GET").toUpperCase() as HttpMethod;
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const [match] = controlRouter.match(segments, method).matches;
    if (!match) return undefined;
    const path = `/${segments.join("/")}`;
    return match.route.handler(
      {
        method,
        path,
        lowerPath: lower(path),
        query: Object.fromEntries(url.searchParams),
        apiVersion: url.searchParams.get("api-version") ?? "",
        headers: flatHeaders(req),
        body,
        params: match.params,
        requestId,
        callerPrincipalId: EMULATOR_ADMIN_PRINCIPAL_ID,
      },
      context,
    );
  }

  function notifyStateLoaded(): void {
    for (const provider of providers) provider.onStateLoaded?.(context);
  }

  const metrics = createMetrics();
  const sockets = new Set<Socket>();
  const heldTimers = new Set<NodeJS.Timeout>();

  async function handleArm(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bodyText: string,
    tooLarge: boolean,
    dispatch: Dispatch,
    baseHeaders: Record<string, string>,
  ): Promise<EmulatorResponse | "held" | "reset"> {
    const method = (req.method ?? "GET").toUpperCase() as HttpMethod;
    const authorization = req.headers.authorization ?? "";
    if (!authorization) {
      baseHeaders["WWW-Authenticate"] =
        'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."';
      return armError(
        401,
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
      );
    }
    const bearer = /^Bearer\s+(\S+)$/iu.exec(authorization);
    if (!bearer?.[1]) {
      return armError(
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid. The 'Authorization' header is provided in an invalid format.",
      );
    }
    const caller = callerFromToken(bearer[1]);
    if (caller.expired) {
      return armError(
        401,
        "ExpiredAuthenticationToken",
        "The access token expiry UTC time is earlier than current UTC time.",
      );
    }

    let segments: string[];
    try {
      segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      return armError(400, "InvalidRequestUri", `The request URI '${url.pathname}' is not valid.`);
    }
    const path = `/${segments.join("/")}`;
    const lowerPath = lower(path);
    const ids = parseResourceId(path);
    const query: Record<string, string> = {};
    for (const [key, value] of url.searchParams) query[key] = value;
    const apiVersion = url.searchParams.get("api-version");
    if (!apiVersion) {
      return armError(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
      );
    }

    const lroEndpoint = method === "GET" ? lro.endpointFor(lowerPath) : undefined;
    const matched = lroEndpoint ? { matches: [], pathMatched: true } : router.match(segments, method);
    const wanted = lower(apiVersion);
    const supportsVersion = (r: RouteDefinition): boolean => r.apiVersions.some((v) => lower(v) === wanted);
    const chosen = matched.matches.find((m) => supportsVersion(m.route)) ?? matched.matches[0];
    const route = chosen?.route;
    const params = chosen?.params ?? {};
    if (lroEndpoint) {
      dispatch.operationName = lroEndpoint.operationName;
      dispatch.kind = "read";
    } else if (!route) {
      if (matched.pathMatched) {
        return armError(
          405,
          "MethodNotAllowed",
          `The requested resource does not support http method '${method}'.`,
        );
      }
      if (ids.resourceType) {
        return armError(
          404,
          "InvalidResourceType",
          `The resource type '${ids.resourceType.split("/").slice(1).join("/")}' could not be found in the namespace '${ids.provider ?? ""}' for api version '${apiVersion}'.`,
        );
      }
      return armError(404, "ResourceNotFound", `The requested resource '${path}' was not found.`);
    } else {
      dispatch.route = route;
      dispatch.operationName = route.operationName;
      dispatch.kind = route.kind ?? (method === "GET" || method === "HEAD" ? "read" : "write");
      if (!supportsVersion(route)) {
        const supported = [...new Set(matched.matches.flatMap((m) => m.route.apiVersions))].sort();
        return armError(
          400,
          "InvalidApiVersionParameter",
          `The api-version '${apiVersion}' is invalid. The supported versions are '${supported.join(",")}'.`,
        );
      }
    }

    const subscriptionId = lroEndpoint?.subscriptionId ?? params.subscriptionId ?? ids.subscriptionId;
    if (subscriptionId !== undefined && !isGuid(subscriptionId)) {
      return armError(
        400,
        "InvalidSubscriptionId",
        `The provided subscription identifier '${subscriptionId}' is malformed or invalid.`,
      );
    }
    if (subscriptionId !== undefined) {
      if (options.knownSubscriptionsOnly && !state.getSubscription(subscriptionId)) {
        return armError(
          404,
          "SubscriptionNotFound",
          `The subscription '${subscriptionId}' could not be found.`,
        );
      }
      state.ensureSubscription(subscriptionId);
    }
    const resourceGroupName = params.resourceGroupName ?? ids.resourceGroupName;
    if (resourceGroupName !== undefined && !isResourceGroupName(resourceGroupName)) {
      return armError(
        400,
        "InvalidResourceGroupName",
        `The resource group name '${resourceGroupName}' is invalid. It must be 1-90 characters of letters, digits, underscores, hyphens, periods (not at the end) or parentheses.`,
      );
    }

    const decision = throttler.take(subscriptionId ?? "tenant", options.region, dispatch.kind);
    baseHeaders[`x-ms-ratelimit-remaining-subscription-${dispatch.kind === "read" ? "reads" : "writes"}`] =
      String(decision.remaining);
    if (!decision.allowed) {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterInMs / 1000));
      const headers: Record<string, string> = { "Retry-After": String(seconds) };
      // The SDK prefers retry-after-ms over Retry-After: lets time-scaled runs wait scaled time.
      if (options.timeScale !== 1)
        headers["retry-after-ms"] = String(Math.ceil(clock.toRealMs(decision.retryAfterInMs)));
      return armError(
        429,
        "SubscriptionRequestsThrottled",
        `Number of '${dispatch.kind}' requests for subscription '${subscriptionId ?? "tenant"}' actor '${caller.principalId}' exceeded. Please try after '${seconds}' seconds.`,
        undefined,
        headers,
      );
    }

    const fault = faults.decide(dispatch.operationName, method, lowerPath);
    if (fault.latencyInMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyInMs));
    if (fault.fault) {
      dispatch.fault = fault.fault;
      if (fault.fault === "reset") return "reset";
      if (fault.fault === "timeout") return "held";
      if (fault.fault === "503") {
        return armError(
          503,
          "ServiceUnavailable",
          "The service is temporarily unavailable. Please retry later.",
        );
      }
      return armError(
        500,
        "InternalServerError",
        "Encountered internal server error. Diagnostic information: injected fault.",
      );
    }

    if (lroEndpoint) return lro.serve(lroEndpoint);
    if (!route) return armError(500, "InternalServerError", "No route.");

    if (tooLarge) {
      return armError(
        413,
        "RequestEntityTooLarge",
        `The request content size exceeds the maximum of '${options.maxBodyBytes}' bytes.`,
      );
    }
    let body: unknown;
    if (bodyText.trim() !== "") {
      if (!isJsonContentType(req.headers["content-type"])) {
        return armError(
          415,
          "UnsupportedMediaType",
          `The content media type '${req.headers["content-type"] ?? ""}' is not supported. Only 'application/json' is supported.`,
        );
      }
      const parsed = jsonBody(bodyText);
      if (!parsed.ok) {
        return armError(
          400,
          "InvalidRequestContent",
          `The request content was invalid and could not be deserialized: '${parsed.message}'.`,
        );
      }
      body = parsed.value;
    }
    const request: EmulatorRequest = {
      method,
      path,
      lowerPath,
      query,
      apiVersion,
      headers: flatHeaders(req),
      body,
      params,
      requestId: baseHeaders["x-ms-request-id"] ?? "",
      callerPrincipalId: caller.principalId,
    };
    try {
      return await currentOperation.run(route.operationName, () => route.handler(request, context));
    } catch (error) {
      process.stderr.write(
        `[arm-emulator] ${route.operationName} failed: ${String(error instanceof Error ? error.stack : error)}\n`,
      );
      return armError(500, "InternalServerError", "The emulator failed to process the request.");
    }
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const time = new Date().toISOString();
    const requestId = random.guid();
    const baseHeaders: Record<string, string> = {
      "x-ms-request-id": requestId,
      "x-ms-correlation-request-id": lower(String(req.headers["x-ms-correlation-request-id"] ?? requestId)),
    };
    // Concatenate rather than resolve: SDKs send `//subscriptions/...` for scopes with a leading slash.
    const url = new URL(`https://emulator.invalid${(req.url ?? "/").replace(/^\/+/u, "/")}`);
    const dispatch: Dispatch = { operationName: "Unknown", kind: "read" };
    let status = 500;
    try {
      const { text, tooLarge } = await readBody(req, options.maxBodyBytes);
      if (url.pathname === "/_emulator" || url.pathname.startsWith("/_emulator/")) {
        dispatch.operationName = "_emulator";
        let response: EmulatorResponse;
        if (!isLoopback(req.socket.remoteAddress)) {
          response = armError(403, "Forbidden", "The control API answers loopback callers only.");
        } else if (tooLarge) {
          response = armError(413, "RequestEntityTooLarge", "The request content is too large.");
        } else {
          const parsed = text.trim() === "" ? { ok: true as const, value: undefined } : jsonBody(text);
          const own = parsed.ok
            ? await providerControl(req, url, parsed.value, requestId).catch((error: unknown) =>
                armError(400, "InvalidRequest", error instanceof Error ? error.message : String(error)),
              )
            : undefined;
          response =
            own ??
            (parsed.ok
              ? await control(
                  {
                    method: req.method ?? "GET",
                    path: url.pathname,
                    query: url.searchParams,
                    body: parsed.value,
                  },
                  core,
                ).catch((error: unknown) =>
                  armError(400, "InvalidRequest", error instanceof Error ? error.message : String(error)),
                )
              : armError(
                  400,
                  "InvalidRequestContent",
                  `The request content was invalid: '${parsed.message}'.`,
                ));
        }
        status = response.status;
        send(res, response, baseHeaders);
        return;
      }
      const outcome = await handleArm(req, res, url, text, tooLarge, dispatch, baseHeaders);
      if (outcome === "reset") {
        status = 0;
        req.socket.destroy();
        return;
      }
      if (outcome === "held") {
        status = 0;
        const timer = setTimeout(() => {
          heldTimers.delete(timer);
          req.socket.destroy();
        }, clock.toRealMs(240_000));
        heldTimers.add(timer);
        return;
      }
      status = outcome.status;
      if (
        !Object.keys(baseHeaders).some((name) => name.startsWith("x-ms-ratelimit-remaining-subscription-"))
      ) {
        // Refused before throttling (401, bad api-version, 404...): report the bucket without charging it.
        const subscription = /^\/subscriptions\/([^/]+)/iu.exec(url.pathname)?.[1] ?? "tenant";
        const kind =
          dispatch.kind === "write" || !["GET", "HEAD"].includes((req.method ?? "GET").toUpperCase())
            ? "write"
            : "read";
        baseHeaders[`x-ms-ratelimit-remaining-subscription-${kind === "read" ? "reads" : "writes"}`] = String(
          throttler.peek(subscription, options.region, kind),
        );
      }
      send(res, outcome, baseHeaders);
    } catch (error) {
      process.stderr.write(`[arm-emulator] request failed: ${String(error)}\n`);
      status = 500;
      send(
        res,
        armError(500, "InternalServerError", "The emulator failed to process the request."),
        baseHeaders,
      );
    } finally {
      metrics.record({
        time,
        method: req.method ?? "GET",
        path: url.pathname,
        operationName: dispatch.operationName,
        kind: dispatch.kind,
        status,
        durationInMs: Math.round((performance.now() - started) * 100) / 100,
        ...(dispatch.fault ? { fault: dispatch.fault } : {}),
      });
    }
  }

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    void onRequest(req, res);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", () => undefined);

  const core: EmulatorCore = {
    state,
    faults,
    throttler,
    eventGrid,
    lro,
    context,
    providers,
    options,
    requestLog: metrics.requestLog,
    clearRequestLog: metrics.clearRequestLog,
    counters: metrics.counters,
    resetCounters: metrics.resetCounters,
    notifyStateLoaded,
    async importSeed(seed, importOptions = {}) {
      state.import(seed, importOptions);
      for (const subscriber of seed.eventSubscribers ?? []) {
        await eventGrid.add({ ...(subscriber as EventSubscriberConfig), skipValidation: true });
      }
      notifyStateLoaded();
    },
    baseUrl,
    listen: (requestedPort) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(requestedPort, options.host, () => {
          const address = server.address();
          port = typeof address === "object" && address ? address.port : requestedPort;
          resolve(port);
        });
      }),
    async stop() {
      scheduler.cancelAll();
      eventGrid.stop();
      for (const timer of heldTimers) clearTimeout(timer);
      heldTimers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return core;
}

/** Request headers as providers see them: one string each (repeated headers joined as HTTP allows). */
function flatHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers[key] = value;
    else if (Array.isArray(value)) headers[key] = value.join(", ");
  }
  return headers;
}
