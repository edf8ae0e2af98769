import type { DequeuedMessageItem, QueueClient } from "@azure/storage-queue";
import type { Logger } from "../../src/lib/logger.js";
import { ensureError } from "../../src/lib/errors.js";
import type { HostSettings } from "./hostJson.js";

/**
 * A Storage Queue trigger with the host's semantics: batches of `batchSize`, a new batch once no
 * more than `newBatchThreshold` are running, polling backoff up to `maxPollingInterval` when empty,
 * base64 message text, a failed message hidden for `visibilityTimeout` and retried, and after
 * `maxDequeueCount` attempts copied to `<queue>-poison`.
 */
export interface QueueListenerOptions {
  readonly functionName: string;
  readonly queue: QueueClient;
  readonly poison: QueueClient;
  readonly settings: HostSettings["queues"];
  /** How long a message stays hidden while its invocation runs. */
  readonly processingVisibilityInMs: number;
  readonly logger: Logger;
  /** Runs the function; rejects when it failed. */
  invoke(input: unknown, triggerMetadata: Record<string, unknown>): Promise<unknown>;
}

export interface QueueListener {
  /** Stops polling, then waits for the messages already received: none is lost or left hidden. */
  stop(): Promise<void>;
}

const MIN_POLL_INTERVAL_IN_MS = 100;
const STOP_GRACE_IN_MS = 2_000;

export function startQueueListener(options: QueueListenerOptions): QueueListener {
  const { queue, settings, logger, functionName } = options;
  const inFlight = new Set<Promise<void>>();
  const stopController = new AbortController();
  const hardStop = new AbortController();
  let wake: (() => void) | undefined;

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopController.signal.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        stopController.signal.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wake = done;
      stopController.signal.addEventListener("abort", done);
    });

  const loop = async (): Promise<void> => {
    let delay = Math.min(MIN_POLL_INTERVAL_IN_MS, settings.maxPollingIntervalInMs);
    await Promise.all([
      ensure(options.queue, hardStop.signal),
      ensure(options.poison, hardStop.signal),
    ]).catch((e: unknown) =>
      logger.warn(`Queue trigger ${functionName}: could not create queue: ${ensureError(e).message}`),
    );
    while (!stopController.signal.aborted) {
      if (inFlight.size > settings.newBatchThreshold) {
        await pause(settings.maxPollingIntervalInMs);
        continue;
      }
      let messages: DequeuedMessageItem[];
      try {
        // Stop lets a receive finish (cut short, its messages would stay hidden for the processing
        // timeout) and aborts it only when Storage does not answer within the grace period.
        const response = await queue.receiveMessages({
          numberOfMessages: Math.min(32, Math.max(1, settings.batchSize)),
          visibilityTimeout: Math.ceil(options.processingVisibilityInMs / 1000),
          abortSignal: hardStop.signal,
        });
        messages = response.receivedMessageItems;
      } catch (e) {
        if (stopController.signal.aborted) break;
        logger.warn(`Queue trigger ${functionName}: polling ${queue.name} failed: ${ensureError(e).message}`);
        messages = [];
      }
      for (const message of messages) {
        const work = process(message).catch((e: unknown) =>
          logger.error(
            `Queue trigger ${functionName}: message ${message.messageId}: ${ensureError(e).message}`,
          ),
        );
        inFlight.add(work);
        void work.finally(() => {
          inFlight.delete(work);
          wake?.();
        });
      }
      if (messages.length > 0) {
        delay = Math.min(MIN_POLL_INTERVAL_IN_MS, settings.maxPollingIntervalInMs);
        continue;
      }
      await pause(delay);
      delay = Math.min(delay * 2, settings.maxPollingIntervalInMs);
    }
  };

  const process = async (message: DequeuedMessageItem): Promise<void> => {
    if (message.dequeueCount > settings.maxDequeueCount) {
      // Seen more often than allowed (e.g. a host died mid-run): straight to poison, as the host does.
      await moveToPoison(message);
      return;
    }
    let succeeded = false;
    try {
      const text = decode(message.messageText, settings.messageEncoding);
      await options.invoke(parseValue(text), {
        id: message.messageId,
        queueTrigger: text,
        dequeueCount: message.dequeueCount,
        insertionTime: message.insertedOn.toISOString(),
        expirationTime: message.expiresOn.toISOString(),
        nextVisibleTime: message.nextVisibleOn.toISOString(),
        popReceipt: message.popReceipt,
      });
      succeeded = true;
    } catch (e) {
      if (e instanceof MessageDecodingError) logger.error(`Queue trigger ${functionName}: ${e.message}`);
      // The invoker already logged a handler failure.
    }
    if (succeeded) {
      await queue.deleteMessage(message.messageId, message.popReceipt);
    } else if (message.dequeueCount >= settings.maxDequeueCount) {
      await moveToPoison(message);
    } else {
      await queue.updateMessage(
        message.messageId,
        message.popReceipt,
        undefined,
        Math.ceil(settings.visibilityTimeoutInMs / 1000),
      );
    }
  };

  const moveToPoison = async (message: DequeuedMessageItem): Promise<void> => {
    logger.warn(
      `Message ${message.messageId} has reached MaxDequeueCount of ${settings.maxDequeueCount}. Moving message to queue '${options.poison.name}'.`,
    );
    await options.poison.sendMessage(message.messageText);
    await queue.deleteMessage(message.messageId, message.popReceipt);
  };

  const running = loop();
  return {
    async stop() {
      stopController.abort();
      const grace = setTimeout(() => hardStop.abort(), STOP_GRACE_IN_MS);
      await running;
      clearTimeout(grace);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}

class MessageDecodingError extends Error {
  override readonly name = "MessageDecodingError";
}

function decode(text: string, encoding: "base64" | "none"): string {
  if (encoding === "none") return text;
  const compact = text.replace(/\s+/g, "");
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new MessageDecodingError(
      "Message decoding has failed: the text is not base64, which host.json extensions.queues.messageEncoding expects.",
    );
  }
  return Buffer.from(compact, "base64").toString("utf8");
}

/** Like the Node worker: JSON text becomes its value, anything else stays a string. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function ensure(client: QueueClient, abortSignal: AbortSignal): Promise<void> {
  await client.createIfNotExists({ abortSignal });
}
