import { readFile } from "node:fs/promises";

/** The parts of host.json the local host honours, with the real host's defaults. */
export interface HostSettings {
  readonly routePrefix: string;
  readonly queues: {
    readonly maxDequeueCount: number;
    readonly visibilityTimeoutInMs: number;
    readonly batchSize: number;
    readonly newBatchThreshold: number;
    readonly maxPollingIntervalInMs: number;
    readonly messageEncoding: "base64" | "none";
  };
  readonly functionTimeoutInMs: number;
}

/** host.json as written by hand: everything optional. */
export interface HostJson {
  extensions?: {
    http?: { routePrefix?: string };
    queues?: {
      maxDequeueCount?: number;
      visibilityTimeout?: string;
      batchSize?: number;
      newBatchThreshold?: number;
      maxPollingInterval?: string;
      messageEncoding?: string;
    };
  };
  functionTimeout?: string;
}

export async function readHostJson(path: string): Promise<HostJson> {
  return JSON.parse(await readFile(path, "utf8")) as HostJson;
}

export function hostSettings(json: HostJson = {}): HostSettings {
  const q = json.extensions?.queues ?? {};
  const batchSize = q.batchSize ?? 16;
  const encoding = (q.messageEncoding ?? "base64").toLowerCase();
  if (encoding !== "base64" && encoding !== "none") {
    throw new RangeError(
      `host.json: extensions.queues.messageEncoding must be "base64" or "none", not "${encoding}".`,
    );
  }
  return {
    routePrefix: (json.extensions?.http?.routePrefix ?? "api").replace(/^\/+|\/+$/g, ""),
    queues: {
      maxDequeueCount: q.maxDequeueCount ?? 5,
      visibilityTimeoutInMs: parseTimeSpan(
        q.visibilityTimeout ?? "00:00:00",
        "extensions.queues.visibilityTimeout",
      ),
      batchSize,
      newBatchThreshold: q.newBatchThreshold ?? Math.floor(batchSize / 2),
      maxPollingIntervalInMs: parseTimeSpan(
        q.maxPollingInterval ?? "00:01:00",
        "extensions.queues.maxPollingInterval",
      ),
      messageEncoding: encoding,
    },
    functionTimeoutInMs: parseTimeSpan(json.functionTimeout ?? "00:05:00", "functionTimeout"),
  };
}

/** .NET TimeSpan text as host.json uses it: `[d.]hh:mm:ss[.fff]`. */
export function parseTimeSpan(value: string, what: string): number {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(value.trim());
  if (!m) throw new RangeError(`host.json: ${what} must be a time span such as 00:00:30, not "${value}".`);
  const [, d = "0", h = "0", min = "0", s = "0", frac = "0"] = m;
  return (
    ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 +
    Number(s) * 1000 +
    Math.round(Number(`0.${frac}`) * 1000)
  );
}
