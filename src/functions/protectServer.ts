import type { InvocationContext } from "@azure/functions";
import { declareStorageQueue } from "./registry.js";
import { loggerFromContext } from "../lib/logger.js";
import { QueueNames } from "../lib/store/queues.js";

/**
 * Protection worker: one message moves one server towards `Protected` or a stop. Serves both
 * `protect-requests` and `protect-checks` (a configuring instance's reads, on a trigger of their own).
 */
export async function protectServer(item: unknown, context: InvocationContext): Promise<void> {
  const [{ getApp }, { parseProtectionMessage }] = await Promise.all([
    import("../lib/app.js"),
    import("../lib/protection/queueMessages.js"),
  ]);
  const logger = loggerFromContext(context);
  const message = parseProtectionMessage(item);
  if (!message) {
    logger.warn("Dropped a queue message that is not a protection request.");
    return;
  }
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1) || 1;
  const { worker } = (await getApp()).protection;
  const outcome = await worker.process(message, { dequeueCount, logger });
  logger.info(
    `${message.resourceId}: ${outcome.kind === "skipped" ? `skipped (${outcome.reason})` : `${outcome.kind} ${outcome.state}`}`,
  );
}

/** Messages the host gave up on (e.g. a worker died on every delivery): leave the row visibly Failed. */
export async function protectServerPoison(item: unknown, context: InvocationContext): Promise<void> {
  const [{ getApp }, { parseProtectionMessage }] = await Promise.all([
    import("../lib/app.js"),
    import("../lib/protection/queueMessages.js"),
  ]);
  const message = parseProtectionMessage(item);
  if (!message) return;
  const { worker } = (await getApp()).protection;
  await worker.recordPoison(message, "the message reached the poison queue");
  loggerFromContext(context).warn(`${message.resourceId}: protection request poisoned; row marked Failed.`);
}

declareStorageQueue("protectServer", {
  queueName: QueueNames.protectRequests,
  connection: "",
  handler: protectServer,
});
declareStorageQueue("protectServerPoison", {
  queueName: `${QueueNames.protectRequests}-poison`,
  connection: "",
  handler: protectServerPoison,
});
declareStorageQueue("protectServerChecks", {
  queueName: QueueNames.protectChecks,
  connection: "",
  handler: protectServer,
});
declareStorageQueue("protectServerChecksPoison", {
  queueName: `${QueueNames.protectChecks}-poison`,
  connection: "",
  handler: protectServerPoison,
});
