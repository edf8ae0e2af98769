/**
 * One local host instance in a process of its own (started by `startLocalHosts`): its own app, pacer and
 * queue listeners on the shared Azurite, as one Azure instance of the function app. Configured through
 * PGFLEX_HOST_INSTANCE (JSON, see InstanceConfig) and the environment; reports to the parent over IPC:
 * `{ type: "ready", url }` once listening and `{ type: "invoked", name }` after each invocation ends.
 */
import type { FunctionDeclaration } from "../../src/functions/registry.js";
import { createConsoleLogger } from "../../src/lib/logger.js";
import { startLocalHost } from "./host.js";
import type { HostJson } from "./hostJson.js";
import type { HostKeys } from "./keys.js";

export interface InstanceConfig {
  port: number;
  keys: HostKeys;
  hostJson?: HostJson;
  queuePollIntervalInMs?: number;
  visibilityTimeoutInMs?: number;
  timers: "on" | "off";
  quiet: boolean;
}

export type InstanceMessage = { type: "ready"; url: string } | { type: "invoked"; name: string };

const send = (message: InstanceMessage) => process.send?.(message);

const config = JSON.parse(process.env.PGFLEX_HOST_INSTANCE ?? "{}") as InstanceConfig;
await import("../../src/functions/index.js");
const { declarations } = await import("../../src/functions/registry.js");
const counted = declarations().map((d): FunctionDeclaration => {
  const handler = d.options.handler as (...args: unknown[]) => unknown;
  const options = {
    ...d.options,
    handler: async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } finally {
        send({ type: "invoked", name: d.name });
      }
    },
  };
  return { ...d, options } as FunctionDeclaration;
});
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const host = await startLocalHost({
  port: config.port,
  timers: config.timers,
  declarations: counted,
  keys: config.keys,
  ...(config.hostJson ? { hostJson: config.hostJson } : {}),
  ...(config.queuePollIntervalInMs !== undefined
    ? { queuePollIntervalInMs: config.queuePollIntervalInMs }
    : {}),
  ...(config.visibilityTimeoutInMs !== undefined
    ? { visibilityTimeoutInMs: config.visibilityTimeoutInMs }
    : {}),
  logger: config.quiet ? quiet : createConsoleLogger(`host:${config.port}`),
});
send({ type: "ready", url: host.url });
process.once("SIGTERM", () => {
  void host.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
process.once("disconnect", () => process.kill(process.pid, "SIGTERM")); // the parent died: do not linger
