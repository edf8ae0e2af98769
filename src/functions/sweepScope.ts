import type { InvocationContext } from "@azure/functions";
import { loggerFromContext } from "../lib/logger.js";
import { QueueNames } from "../lib/store/queues.js";
import { declareStorageQueue } from "./registry.js";

/** One unit of a sweep (all subscriptions, or one): inventory, classify, remediate, write rows; the last unit completes the sweep. */
export async function sweepScope(item: unknown, context: InvocationContext): Promise<void> {
  const [{ getApp }, { parseSweepScopeMessage }] = await Promise.all([
    import("../lib/app.js"),
    import("../lib/compliance/sweeper.js"),
  ]);
  const message = parseSweepScopeMessage(item);
  if (!message) {
    loggerFromContext(context).warn("Dropped a sweep-scopes message that is not a sweep unit.");
    return;
  }
  await (await getApp()).compliance.sweeper.processScope(message);
}

/** A unit the host gave up on: its sweep is reported Incomplete, never complete. */
export async function sweepScopePoison(item: unknown, context: InvocationContext): Promise<void> {
  const [{ getApp }, { parseSweepScopeMessage }] = await Promise.all([
    import("../lib/app.js"),
    import("../lib/compliance/sweeper.js"),
  ]);
  const message = parseSweepScopeMessage(item);
  if (!message) return;
  await (await getApp()).compliance.sweeper.abandonScope(message, "the message reached the poison queue");
  loggerFromContext(context).warn(
    `Sweep ${message.sweepId}: unit ${message.unit} poisoned; sweep marked Incomplete.`,
  );
}

declareStorageQueue("sweepScope", { queueName: QueueNames.sweepScopes, connection: "", handler: sweepScope });
declareStorageQueue("sweepScopePoison", {
  queueName: `${QueueNames.sweepScopes}-poison`,
  connection: "",
  handler: sweepScopePoison,
});
