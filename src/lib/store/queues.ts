import type { QueueClient } from "@azure/storage-queue";
import type { StorageConnection } from "./connection.js";
import { isRestError } from "../errors.js";
import type { OperationOptions } from "../util/options.js";

/** Queue names shared by the producers and the queue-triggered functions. */
export const QueueNames = {
  protectRequests: "protect-requests",
  /** Follow-ups of instances being configured: reads, kept apart so they never wait behind writes. */
  protectChecks: "protect-checks",
  sweepScopes: "sweep-scopes",
} as const;

/** Storage queue messages are at most 64 KiB; the Functions host expects base64 text (host.json messageEncoding). */
export const MAX_QUEUE_MESSAGE_BYTES = 64 * 1024;

export interface SendMessageOptions extends OperationOptions {
  /** Hide the message for this long before a worker may see it (backoff, retry later). */
  visibilityTimeoutInMs?: number;
}

export interface QueueSender<T> {
  send(message: T, options?: SendMessageOptions): Promise<void>;
}

export function createQueueSender<T>(connection: StorageConnection, queueName: string): QueueSender<T> {
  const client = connection.queueClient(queueName);
  let ensured: Promise<void> | undefined;
  return {
    async send(message, options = {}) {
      ensured ??= ensureQueue(client).catch((e: unknown) => {
        ensured = undefined;
        throw e;
      });
      await ensured;
      const text = Buffer.from(JSON.stringify(message), "utf8").toString("base64");
      if (Buffer.byteLength(text) > MAX_QUEUE_MESSAGE_BYTES) {
        throw new RangeError(
          `Queue message for "${queueName}" is ${Buffer.byteLength(text)} bytes; the limit is 64 KiB.`,
        );
      }
      await client.sendMessage(text, {
        visibilityTimeout:
          options.visibilityTimeoutInMs === undefined
            ? undefined
            : Math.ceil(options.visibilityTimeoutInMs / 1000),
        abortSignal: options.abortSignal,
      });
    },
  };
}

export async function ensureQueue(client: QueueClient): Promise<void> {
  try {
    await client.createIfNotExists();
  } catch (e) {
    if (isRestError(e) && e.statusCode === 409) return;
    throw e;
  }
}

/**
 * A queue trigger's payload as a value: the object the host already parsed, JSON text, or base64 JSON (how
 * the SDK's default encoding stores it); undefined when the text is neither.
 */
export function decodeQueuePayload(payload: unknown): unknown {
  if (typeof payload !== "string") return payload;
  const text = payload.trim();
  try {
    return JSON.parse(text.startsWith("{") ? text : Buffer.from(text, "base64").toString("utf8"));
  } catch {
    return undefined;
  }
}
