import { loadConfig, type Config } from "../../src/lib/config/index.js";
import { createStorageConnection, type StorageConnection } from "../../src/lib/store/connection.js";
import { createServerStore, type ServerRecord, type ServerStore } from "../../src/lib/store/servers.js";
import type { LocalHost } from "../../dev/host/index.js";
import type { World } from "./world.js";

/** Protection states that are still moving. */
export const IN_PROGRESS = new Set(["Pending", "WaitingForServer", "Validating", "Configuring"]);

export interface AppView {
  config: Config;
  connection: StorageConnection;
  servers: ServerStore;
}

/** The app's own stores, opened with the world's settings (reads only; the app does the writing). */
export function appView(world: Pick<World, "env">): AppView {
  const config = loadConfig(world.env);
  const connection = createStorageConnection(config);
  return { config, connection, servers: createServerStore(connection) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` gives a value; throws naming `what` after `timeoutInMs` of real time. */
export async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  { timeoutInMs = 60_000, intervalInMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutInMs} ms waiting for ${what}.`);
    await sleep(intervalInMs);
  }
}

/** Resolves with the server's row once it has left the in-progress states. */
export function settled(servers: ServerStore, serverId: string, timeoutInMs = 60_000): Promise<ServerRecord> {
  return until(
    async () => {
      const row = await servers.get(serverId);
      return row && !IN_PROGRESS.has(row.state) ? row : undefined;
    },
    `${serverId} to settle`,
    { timeoutInMs },
  );
}

/** Counts rows of the servers table by state. */
export async function statesOf(servers: ServerStore): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const row of servers.list()) counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
  return counts;
}

/** Approximate message count of a queue (0 when it does not exist). */
export async function queueLength(connection: StorageConnection, name: string): Promise<number> {
  try {
    const props = await connection.queueClient(name).getProperties();
    return props.approximateMessagesCount ?? 0;
  } catch {
    return 0;
  }
}

/** Calls the app's HTTP API through the host with the function key and an optional bearer token. */
export async function callApi(
  host: Pick<LocalHost, "url" | "functionKey">,
  path: string,
  init: { method?: string; token?: string; body?: string } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { "x-functions-key": host.functionKey };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(`/api/${path}`, host.url), {
    method: init.method ?? "GET",
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // plain-text refusal
  }
  return { status: res.status, body };
}
