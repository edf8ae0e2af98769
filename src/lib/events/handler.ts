import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import { ConflictError } from "../errors.js";
import type { ServerStore } from "../store/servers.js";
import { parseServerId } from "../domain/serverId.js";
import type { ProtectionQueue } from "../protection/queueMessages.js";
import { enqueueProtection } from "../protection/queueMessages.js";
import { parseResourceEvents, type ResourceEvent } from "./resourceEvents.js";
import type { OperationOptions } from "../util/options.js";

export interface ResourceEventHandlerDeps {
  queue: ProtectionQueue;
  /** Records the request as a `Pending` row when the server is new to the app (optional). */
  servers?: ServerStore;
  /** Subscription ids in scope, lower-case; empty means every subscription. */
  scopes: readonly string[];
  backupTag?: string;
  logger?: Logger;
  now?: () => Date;
}

export interface HandleSummary {
  enqueued: ResourceEvent[];
  ignored: number;
}

export interface ResourceEventHandler {
  /** Parses a delivery, drops what is not ours, enqueues one protection message per accepted event. */
  handle(payload: unknown, options?: HandleEventsOptions): Promise<HandleSummary>;
}

export interface HandleEventsOptions extends OperationOptions {
  /** The invocation's logger, so a delivery's lines carry its invocation id. */
  logger?: Logger;
}

/**
 * The Event Grid side of protection. It does no ARM work: malformed, foreign and out-of-scope events
 * are logged and dropped; accepted ones are recorded and become one message on `protect-requests`.
 */
export function createResourceEventHandler(deps: ResourceEventHandlerDeps): ResourceEventHandler {
  const baseLog = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const scopes = new Set(deps.scopes.map((s) => s.toLowerCase()));
  return {
    async handle(payload, options = {}) {
      const log = options.logger ?? baseLog;
      const summary: HandleSummary = { enqueued: [], ignored: 0 };
      for (const parsed of await parseResourceEvents(payload, { backupTag: deps.backupTag })) {
        if (!parsed.accepted) {
          summary.ignored++;
          const line = `Ignored event${parsed.eventId ? ` ${parsed.eventId}` : ""}: ${parsed.reason}.`;
          if (parsed.level === "debug") log.debug(line);
          else log.warn(line);
          continue;
        }
        const event = parsed.event;
        if (scopes.size > 0 && !scopes.has(event.subscriptionId)) {
          summary.ignored++;
          log.info(
            `Ignored event ${event.eventId}: subscription ${event.subscriptionId} is outside the configured scope.`,
          );
          continue;
        }
        if (deps.servers && event.kind !== "delete")
          await recordPending(deps.servers, event, now(), options.abortSignal);
        await enqueueProtection(
          deps.queue,
          event.resourceId,
          { kind: "event", eventId: event.eventId, eventType: event.eventType },
          {
            action: event.kind === "delete" ? "delete" : "protect",
            now: now(),
            abortSignal: options.abortSignal,
          },
        );
        log.info(`Event ${event.eventId} (${event.kind}) for ${event.resourceId}: protection requested.`);
        summary.enqueued.push(event);
      }
      return summary;
    },
  };
}

/** A `Pending` row for a server seen for the first time; an existing row is left to the worker. */
async function recordPending(
  store: ServerStore,
  event: ResourceEvent,
  at: Date,
  abortSignal?: AbortSignal,
): Promise<void> {
  const parts = parseServerId(event.resourceId);
  if (!parts) return;
  // One write: an existing row answers 409 and is left to the worker.
  try {
    await store.create(
      {
        ...parts,
        state: "Pending",
        attempts: 0,
        lastCause: `event:${event.eventId}`,
        updatedAt: at.toISOString(),
      },
      { abortSignal },
    );
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
  }
}
