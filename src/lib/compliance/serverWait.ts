/**
 * Servers the worker waits on (`WaitingForServer`, parked while stopped) or gave up on because the server
 * was not Ready (`Failed`/`ServerNotReady`): a sweep re-enqueues them once the inventory shows them Ready,
 * and while they are still stopped says so instead of enqueueing them every sweep.
 */
import type { InventoryServer } from "../azure/inventory/types.js";
import type { Classification } from "../domain/compliance.js";

/** The worker-row fields this reads. */
interface WorkerRecord {
  state: string;
  lastErrorCode?: string;
}

/**
 * `ready`: the worker waits on (or gave up on) the server, and the inventory now shows it Ready: enqueue it.
 * `stopped`: it is still not Ready (a known state): leave it to its start event. Undefined otherwise.
 */
export function serverWait(
  record: WorkerRecord | undefined,
  server: InventoryServer,
): "ready" | "stopped" | undefined {
  if (!record) return undefined;
  const waiting =
    record.state === "WaitingForServer" ||
    (record.state === "Failed" && record.lastErrorCode === "ServerNotReady");
  if (!waiting || !server.state) return undefined;
  return server.state.toLowerCase() === "ready" ? "ready" : "stopped";
}

/** The verdict for a tagged, unprotected server the worker waits on until it is Ready. */
export function waitingForReady(server: InventoryServer, c: Classification): Classification {
  return {
    ...c,
    reason: `${server.name} asks for policy ${c.expectedPolicyName ?? "(unknown)"} but is ${server.state ?? "not Ready"}; Azure Backup takes no backups of a server that is not Ready, so protection waits until it is (Azure starts a stopped server by itself after seven days).`,
    fix: `Start the server to protect it now (az postgres flexible-server start --ids ${server.id}); its start event, or the next sweep that sees it Ready, enqueues protection.`,
  };
}
