import type { EventGridEvent, InvocationContext } from "@azure/functions";
import { declareEventGrid } from "./registry.js";
import { loggerFromContext } from "../lib/logger.js";

/**
 * ARM events from the subscription's Event Grid system topic (Event Grid or CloudEvents schema). No ARM
 * work here: accepted events become one message on `protect-requests`; the rest is logged and dropped.
 * A failure (Storage down) throws, so Event Grid redelivers.
 */
export async function onResourceEvent(event: EventGridEvent, context: InvocationContext): Promise<void> {
  const { getApp } = await import("../lib/app.js");
  const logger = loggerFromContext(context);
  const { events } = await getApp();
  const summary = await events.handle(event, { logger });
  if (summary.enqueued.length === 0) logger.debug(`Event ${String(event.id)} needs no protection work.`);
}

declareEventGrid("onResourceEvent", { handler: onResourceEvent });
