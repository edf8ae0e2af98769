import type {
  EmulatorClock,
  EmulatorResponse,
  LroHandle,
  LroHelpers,
  LroOutcome,
  LroRecord,
  ScheduledTask,
  Scheduler,
  StartLroOptions,
} from "./provider.js";
import { armError } from "./responses.js";

const NOT_ENDED = "0001-01-01T00:00:00Z";

interface StoredLro extends LroRecord {
  operationName: string;
  subscriptionId: string;
  failureStatusCode?: number;
}

export interface LroEndpoint {
  operationId: string;
  kind: "status" | "result";
  operationName: string;
  subscriptionId: string;
}

export interface LroRegistry {
  /** `defaultOperationName` names status polls in counters (`<name>_OperationStatus`). */
  helpersFor(defaultOperationName: () => string): LroHelpers;
  /** Which operation (if any) a GET path (decoded, lower-cased) polls. */
  endpointFor(lowerPath: string): LroEndpoint | undefined;
  serve(endpoint: LroEndpoint): EmulatorResponse;
  /** Runs every pending completion now (tests and drills that must not depend on timing); returns how many. */
  completeAll(): Promise<number>;
  clear(): void;
}

export interface LroRegistryDeps {
  clock: EmulatorClock;
  scheduler: Scheduler;
  newGuid: () => string;
  baseUrl: () => string;
  log: (message: string) => void;
}

/** Operation ids as ARM's async operations spell them: base64 of `"<guid>;<guid>"` (URL-safe by retry). */
function newOperationId(newGuid: () => string): string {
  for (;;) {
    const id = Buffer.from(`${newGuid()};${newGuid()}`).toString("base64");
    if (!/[+/]/u.test(id)) return id;
  }
}

export function createLroRegistry(deps: LroRegistryDeps): LroRegistry {
  const operations = new Map<string, StoredLro>();
  /** Operations whose completion has not run yet. */
  const pending = new Map<string, { task: ScheduledTask; run: () => Promise<void> }>();
  const endpoints = new Map<string, LroEndpoint>();

  const finish = (operationId: string, outcome: LroOutcome): void => {
    const record = operations.get(operationId);
    if (!record || record.status !== "Inprogress") return;
    record.status = outcome.status;
    record.endTime = deps.clock.nowIso();
    if (outcome.error) record.error = outcome.error;
    if (outcome.result !== undefined) record.result = outcome.result;
    if (outcome.properties) record.properties = outcome.properties;
    if (outcome.failureStatusCode !== undefined) record.failureStatusCode = outcome.failureStatusCode;
  };

  const statusBody = (operationId: string): Record<string, unknown> | undefined => {
    const record = operations.get(operationId);
    if (!record) return undefined;
    return {
      id: record.statusPath,
      name: record.operationId,
      status: record.status,
      startTime: record.startTime,
      endTime: record.endTime ?? NOT_ENDED,
      ...(record.error ? { error: record.error } : {}),
      ...(record.properties ? { properties: record.properties } : {}),
    };
  };

  const helpersFor = (defaultOperationName: () => string): LroHelpers => ({
    start(options: StartLroOptions): LroHandle {
      const operationId = newOperationId(deps.newGuid);
      const statusPath = `${options.statusPathPrefix.replace(/\/+$/u, "")}/${operationId}`;
      const resultPath = options.resultPathPrefix
        ? `${options.resultPathPrefix.replace(/\/+$/u, "")}/${operationId}`
        : undefined;
      const operationName = options.operationName ?? `${defaultOperationName()}_OperationStatus`;
      const record: StoredLro = {
        operationId,
        status: "Inprogress",
        startTime: deps.clock.nowIso(),
        statusPath,
        apiVersion: options.apiVersion,
        operationName,
        subscriptionId: options.subscriptionId,
        ...(resultPath ? { resultPath } : {}),
      };
      operations.set(operationId, record);
      const common = { operationId, operationName, subscriptionId: options.subscriptionId };
      endpoints.set(statusPath.toLowerCase(), { ...common, kind: "status" });
      if (resultPath) endpoints.set(resultPath.toLowerCase(), { ...common, kind: "result" });
      const query = `?api-version=${encodeURIComponent(options.apiVersion)}`;
      const azureAsyncOperationUrl = `${deps.baseUrl()}${statusPath}${query}`;
      const locationUrl = resultPath ? `${deps.baseUrl()}${resultPath}${query}` : undefined;
      const run = async (): Promise<void> => {
        pending.delete(operationId);
        try {
          finish(operationId, await options.complete());
        } catch (error) {
          deps.log(`LRO ${operationId} completion failed: ${String(error)}`);
          finish(operationId, {
            status: "Failed",
            error: { code: "InternalServerError", message: "An internal error occurred." },
          });
        }
      };
      pending.set(operationId, { task: deps.scheduler.after(options.durationInMs, run), run });
      return {
        operationId,
        azureAsyncOperationUrl,
        ...(locationUrl ? { locationUrl } : {}),
        headers: {
          "Azure-AsyncOperation": azureAsyncOperationUrl,
          ...(locationUrl ? { Location: locationUrl } : {}),
        },
        finish: (outcome) => finish(operationId, outcome),
      };
    },
    get: (operationId) => {
      const record = operations.get(operationId);
      if (!record) return undefined;
      const { operationName: _a, subscriptionId: _b, failureStatusCode: _c, ...rest } = record;
      return structuredClone(rest);
    },
    statusBody,
  });

  return {
    helpersFor,
    endpointFor: (lowerPath) => endpoints.get(lowerPath),
    serve(endpoint): EmulatorResponse {
      const record = operations.get(endpoint.operationId);
      if (!record) return armError(404, "ResourceNotFound", "The operation was not found.");
      if (endpoint.kind === "status") return { status: 200, body: statusBody(endpoint.operationId) };
      const url = `${deps.baseUrl()}${record.resultPath ?? ""}?api-version=${encodeURIComponent(record.apiVersion)}`;
      if (record.status === "Inprogress") return { status: 202, headers: { Location: url } };
      if (record.status === "Failed" || record.status === "Canceled") {
        const error = record.error ?? { code: "OperationFailed", message: "The operation failed." };
        return armError(record.failureStatusCode ?? 400, error.code, error.message);
      }
      // As recorded: a finished operation's result also points at its status monitor.
      const monitor = {
        "Azure-AsyncOperation": `${deps.baseUrl()}${record.statusPath}?api-version=${encodeURIComponent(record.apiVersion)}`,
      };
      return record.result === undefined
        ? { status: 204, headers: monitor }
        : { status: 200, headers: monitor, body: record.result };
    },
    async completeAll() {
      const due = [...pending.values()];
      for (const { task } of due) task.cancel();
      for (const { run } of due) await run();
      return due.length;
    },
    clear() {
      for (const { task } of pending.values()) task.cancel();
      pending.clear();
      operations.clear();
      endpoints.clear();
    },
  };
}
