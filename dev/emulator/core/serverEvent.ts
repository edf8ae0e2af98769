import type { ArmEvent, ServerRecord } from "./provider.js";

export type ServerOperation = "write" | "delete" | "start" | "stop" | "restart";

/** The ARM event a finished server operation publishes: a write, a delete, or an action (start, stop, restart). */
export function serverEvent(server: ServerRecord, operation: ServerOperation): ArmEvent {
  const isAction = operation !== "write" && operation !== "delete";
  return {
    eventType: isAction
      ? "Microsoft.Resources.ResourceActionSuccess"
      : operation === "delete"
        ? "Microsoft.Resources.ResourceDeleteSuccess"
        : "Microsoft.Resources.ResourceWriteSuccess",
    subject: server.id,
    subscriptionId: server.subscriptionId,
    resourceGroupName: server.resourceGroupName,
    operationName: `Microsoft.DBforPostgreSQL/flexibleServers/${operation}${isAction ? "/action" : ""}`,
  };
}
