import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { QueueSender, SendMessageOptions } from "../store/queues.js";
import { createQueueSender, decodeQueuePayload, QueueNames } from "../store/queues.js";
import type { StorageConnection } from "../store/connection.js";
import { parseServerId } from "../domain/serverId.js";

/** Why protection was requested; recorded on the server row and in every audit row. */
export type ProtectionCause =
  | { kind: "event"; eventId: string; eventType?: string }
  | { kind: "sweep"; sweepId: string }
  | { kind: "api"; requestedBy?: string };

/**
 * One message on `protect-requests` (or `protect-checks`, for a server whose instance is configuring).
 * Small (well under 64 KiB) and self-describing.
 */
export interface ProtectionMessage {
  v: 1;
  /** Unique per enqueue; a worker holding the server's lease is identified by it (a redelivery resumes). */
  requestId: string;
  /** Server resource id, lower-cased. */
  resourceId: string;
  /** `delete` when ARM reported the server deleted; `protect` otherwise (the worker re-reads the server). */
  action: "protect" | "delete";
  cause: ProtectionCause;
  enqueuedAt: string;
  /** Retry-later generation (WaitingForServer, RBAC propagation); 0 for the first message. */
  attempt: number;
  /** Transient Azure failures in a row that this request has retried (absent: none). */
  transientFailures?: number;
  /** Backoff those retries have waited in all; they stop once it reaches `transientRetryDeadlineInMs`. */
  retriedForInMs?: number;
}

const causeSchema = z.union([
  z.object({
    kind: z.literal("event"),
    eventId: z.string().min(1).max(200),
    eventType: z.string().max(200).optional(),
  }),
  z.object({ kind: z.literal("sweep"), sweepId: z.string().min(1).max(200) }),
  z.object({ kind: z.literal("api"), requestedBy: z.string().max(200).optional() }),
]);

const messageSchema = z.object({
  v: z.literal(1),
  requestId: z.string().min(1).max(100),
  resourceId: z
    .string()
    .refine((id) => parseServerId(id) !== undefined, "is not a PostgreSQL Flexible Server id"),
  action: z.enum(["protect", "delete"]),
  cause: causeSchema,
  enqueuedAt: z.string(),
  attempt: z.number().int().min(0).default(0),
  transientFailures: z.number().int().min(1).optional(),
  retriedForInMs: z.number().int().min(0).optional(),
});

/** `event:<id>`, `sweep:<id>` or `api[:who]`: the cause as one string for rows and audit. */
export function causeToString(cause: ProtectionCause): string {
  switch (cause.kind) {
    case "event":
      return `event:${cause.eventId}`;
    case "sweep":
      return `sweep:${cause.sweepId}`;
    case "api":
      return cause.requestedBy ? `api:${cause.requestedBy}` : "api";
  }
}

/** Reverse of {@link causeToString}; undefined for an unknown shape. */
export function parseCause(text: string): ProtectionCause | undefined {
  const i = text.indexOf(":");
  const kind = i < 0 ? text : text.slice(0, i);
  const rest = i < 0 ? "" : text.slice(i + 1);
  if (kind === "event" && rest) return { kind: "event", eventId: rest };
  if (kind === "sweep" && rest) return { kind: "sweep", sweepId: rest };
  if (kind === "api") return rest ? { kind: "api", requestedBy: rest } : { kind: "api" };
  return undefined;
}

/** Builds a message for `resourceId` (normalised to lower case). Throws TypeError for a non-server id. */
export function createProtectionMessage(
  resourceId: string,
  cause: ProtectionCause,
  options: { action?: "protect" | "delete"; now?: Date; attempt?: number } = {},
): ProtectionMessage {
  const parsed = parseServerId(resourceId);
  if (!parsed) throw new TypeError(`"${resourceId}" is not a PostgreSQL Flexible Server resource id.`);
  return {
    v: 1,
    requestId: randomUUID(),
    resourceId: parsed.resourceId,
    action: options.action ?? "protect",
    cause,
    enqueuedAt: (options.now ?? new Date()).toISOString(),
    attempt: options.attempt ?? 0,
  };
}

/** Parses a queue payload (object, JSON text or base64 JSON); undefined when it is not a protection message. */
export function parseProtectionMessage(payload: unknown): ProtectionMessage | undefined {
  const result = messageSchema.safeParse(decodeQueuePayload(payload));
  if (!result.success) return undefined;
  return { ...result.data, resourceId: result.data.resourceId.toLowerCase() } as ProtectionMessage;
}

export type ProtectionQueue = QueueSender<ProtectionMessage>;

export function createProtectionQueue(connection: StorageConnection): ProtectionQueue {
  return createQueueSender<ProtectionMessage>(connection, QueueNames.protectRequests);
}

/** The queue of `Configuring` follow-ups (`followUpQueue` in transitions.ts says why); same messages, its own trigger. */
export function createProtectionChecksQueue(connection: StorageConnection): ProtectionQueue {
  return createQueueSender<ProtectionMessage>(connection, QueueNames.protectChecks);
}

/**
 * Enqueues one protection request: the single entry point used by the Event Grid trigger, the sweep and
 * the API. Returns the message sent.
 */
export async function enqueueProtection(
  queue: ProtectionQueue,
  resourceId: string,
  cause: ProtectionCause,
  options: SendMessageOptions & { action?: "protect" | "delete"; now?: Date } = {},
): Promise<ProtectionMessage> {
  const { action, now, ...sendOptions } = options;
  const message = createProtectionMessage(resourceId, cause, { action, now });
  await queue.send(message, sendOptions);
  return message;
}
