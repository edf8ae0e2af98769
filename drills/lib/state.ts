import { sliceOf } from "../../dev/emulator/providers/dataprotection/engine.js";
import { appView, queueLength, IN_PROGRESS } from "../../bench/lib/app.js";
import type { World } from "../../bench/lib/world.js";
import type { Check } from "../../bench/lib/types.js";
import type { StorageConnection } from "../../src/lib/store/connection.js";
import { QueueNames } from "../../src/lib/store/queues.js";

/** Every queue the app uses, and its poison queue. */
export const QUEUES = Object.values(QueueNames).flatMap((q) => [q, `${q}-poison`]);

/** What a drill compares: rows, backup instances per server, leftover queue messages. */
export interface EndState {
  /** server name → "state|policy|instanceName" */
  rows: Record<string, string>;
  /** server name → number of backup instances for it in the emulator */
  instances: Record<string, number>;
  queues: Record<string, number>;
  inProgress: number;
  /** server name → last error of rows that are not Protected */
  errors: Record<string, string>;
}

const nameOf = (id: string) => id.split("/").pop() ?? id;

export async function endState(world: World): Promise<EndState> {
  const view = appView(world);
  const rows: Record<string, string> = {};
  let inProgress = 0;
  const errors: Record<string, string> = {};
  for await (const row of view.servers.list()) {
    rows[row.serverName] = `${row.state}|${row.policyName ?? ""}|${row.instanceName ?? ""}`;
    if (row.state !== "Protected")
      errors[row.serverName] = `${row.lastErrorCode ?? ""}: ${row.lastErrorMessage ?? ""}`;
    if (IN_PROGRESS.has(row.state)) inProgress++;
  }
  const instances: Record<string, number> = {};
  for (const instance of Object.values(sliceOf(world.emulator.core.context).instances)) {
    const name = nameOf(instance.datasourceKey);
    instances[name] = (instances[name] ?? 0) + 1;
  }
  const queues: Record<string, number> = {};
  for (const q of QUEUES) queues[q] = await queueLength(view.connection, q);
  return { rows, instances, queues, inProgress, errors };
}

/** The drill's invariants on an end state (and, when given, equality with a clean run's). */
export function checkEndState(state: EndState, servers: readonly string[], clean?: EndState): Check[] {
  const notProtected = servers.filter((s) => !state.rows[s]?.startsWith("Protected|"));
  const duplicates = Object.entries(state.instances).filter(([, n]) => n > 1);
  const missing = servers.filter((s) => (state.instances[s] ?? 0) === 0);
  const leftovers = Object.entries(state.queues).filter(([, n]) => n > 0);
  const checks: Check[] = [
    {
      name: "every server protected",
      passed: notProtected.length === 0,
      detail: notProtected.length
        ? `${notProtected.length} not Protected, e.g. ${notProtected
            .slice(0, 3)
            .map((s) => `${s}=${state.rows[s] ?? "no row"} (${state.errors[s] ?? ""})`)
            .join(", ")}`
        : `${servers.length} Protected`,
    },
    {
      name: "exactly one backup instance per server (no duplicate instance)",
      passed: duplicates.length === 0 && missing.length === 0,
      detail: duplicates.length
        ? `duplicates: ${duplicates
            .slice(0, 3)
            .map(([s, n]) => `${s}×${n}`)
            .join(", ")}`
        : missing.length
          ? `${missing.length} without an instance`
          : `${servers.length} instances`,
    },
    {
      name: "no queue message lost or left over (queues and poison queues empty, no row in progress)",
      passed: leftovers.length === 0 && state.inProgress === 0,
      detail: leftovers.length
        ? leftovers.map(([q, n]) => `${q}: ${n}`).join(", ")
        : `in progress: ${state.inProgress}`,
    },
  ];
  if (clean) {
    const differing = servers.filter((s) => state.rows[s] !== clean.rows[s]);
    checks.push({
      name: "same end state as a clean run",
      passed: differing.length === 0,
      detail: differing.length
        ? `${differing.length} rows differ, e.g. ${differing
            .slice(0, 2)
            .map((s) => `${s}: ${state.rows[s]} vs ${clean.rows[s]}`)
            .join("; ")}`
        : `${servers.length} rows identical`,
    });
  }
  return checks;
}

export function outcomeOf(checks: readonly Check[]): "ok" | "failed" {
  return checks.every((c) => c.passed) ? "ok" : "failed";
}

/** Messages on the protection queues: new requests and configuring instances' follow-ups. */
async function protectionQueued(connection: StorageConnection): Promise<number> {
  const [requests, checks] = await Promise.all([
    queueLength(connection, QueueNames.protectRequests),
    queueLength(connection, QueueNames.protectChecks),
  ]);
  return requests + checks;
}

/** Waits until every server has a settled row and the protection queues are empty. */
export async function waitQuiet(
  world: World,
  servers: readonly string[],
  timeoutInMs = 120_000,
): Promise<void> {
  const view = appView(world);
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    let settled = 0;
    const stuck: string[] = [];
    for await (const row of view.servers.list()) {
      if (!servers.includes(row.serverName)) continue;
      if (IN_PROGRESS.has(row.state)) stuck.push(`${row.serverName}=${row.state}`);
      else settled++;
    }
    if (settled === servers.length && (await protectionQueued(view.connection)) === 0) {
      await world.host?.idle();
      return;
    }
    if (Date.now() > deadline) {
      const queued = await protectionQueued(view.connection);
      throw new Error(
        `Timed out after ${timeoutInMs} ms: ${settled}/${servers.length} servers settled` +
          ` (in progress: ${stuck.slice(0, 5).join(", ") || "none"}${stuck.length > 5 ? ", …" : ""};` +
          ` ${servers.length - settled - stuck.length} without a row; ${queued} protection messages queued).`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Like `waitQuiet`, but reports a timeout (to `log`, with what was still in progress) instead of throwing,
 * so the invariants can name what is stuck.
 */
export async function settleWithin(
  world: World,
  servers: readonly string[],
  timeoutInMs: number,
  log?: (line: string) => void,
): Promise<boolean> {
  try {
    await waitQuiet(world, servers, timeoutInMs);
    return true;
  } catch (e) {
    log?.(e instanceof Error ? e.message : String(e));
    return false;
  }
}
