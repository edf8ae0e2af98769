import { loadConfig, type Config } from "../../src/lib/config/index.js";
import { createStorageConnection, type StorageConnection } from "../../src/lib/store/connection.js";
import {
  createServerStore,
  SERVERS_TABLE,
  type ServerRecord,
  type ServerStore,
} from "../../src/lib/store/servers.js";
import type { ControlClient } from "../../dev/emulator/index.js";
import type { LocalHost } from "../../dev/host/index.js";
import type { App } from "../../src/lib/app.js";
import type { PollResult } from "../../src/lib/jobs/poller.js";
import { InProgressStates } from "../../src/lib/domain/protectionStates.js";
import type { World } from "./world.js";

/** Protection states that are still moving. */
export const IN_PROGRESS: ReadonlySet<string> = new Set(InProgressStates);

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

/**
 * Servers by protection state. Only the state column is asked for: at thousands of rows, polling whole rows
 * several times a second kept Azurite's one thread busy serialising them and starved the hosts under test.
 */
export async function statesOf(view: Pick<AppView, "connection">): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const rows = view.connection
    .tableClient(SERVERS_TABLE)
    .listEntities<{ state?: string }>({ queryOptions: { select: ["state"] } });
  for await (const row of rows) {
    const state = row.state ?? "";
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
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
  init: { method?: string; token?: string; body?: string; abortSignal?: AbortSignal } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { "x-functions-key": host.functionKey };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(`/api/${path}`, host.url), {
    method: init.method ?? "GET",
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.abortSignal ? { signal: init.abortSignal } : {}),
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

/** A server's row as protection leaves it: Protected by `vaultId` with the `weekly` policy, its instance `<name>-bi`. */
export function aProtectedRow(serverId: string, vaultId: string, updatedAt: string): ServerRecord {
  const [, , subscriptionId = "", , resourceGroup = "", , , , serverName = ""] = serverId.split("/");
  return {
    resourceId: serverId.toLowerCase(),
    subscriptionId,
    resourceGroup,
    serverName,
    region: "westeurope",
    tagValue: "weekly",
    policyName: "pgflex-weekly",
    vaultId,
    instanceName: `${serverName}-bi`,
    state: "Protected",
    attempts: 0,
    updatedAt,
  };
}

/**
 * Runs `warmUp` (at least one) unmeasured poll cycles (the first sets each vault's cursor and copies day rows, once), then
 * `cycles` measured ones: each cycle's ARM calls (the emulator's counters) and time, and the last cycle's result.
 */
export async function measurePollCycles(
  control: Pick<ControlClient, "resetCounters" | "getCounters">,
  poller: Pick<App["jobs"]["poller"], "pollOnce">,
  cycles: number,
  warmUp = 1,
): Promise<{ calls: number[]; times: number[]; last: PollResult }> {
  let last = await poller.pollOnce();
  for (let i = 1; i < warmUp; i++) last = await poller.pollOnce();
  const calls: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < cycles; i++) {
    await control.resetCounters();
    const t0 = performance.now();
    last = await poller.pollOnce();
    times.push(performance.now() - t0);
    calls.push((await control.getCounters()).totals.count);
  }
  return { calls, times, last };
}
