import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { declareHttp } from "./registry.js";

/** POST /api/servers/{subscriptionId}/{resourceGroup}/{serverName}/backups: start an on-demand backup (Backup.Operator). */
export async function apiStartBackup(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).backups.api.startBackup(request, context);
}

declareHttp("apiStartBackup", {
  methods: ["POST"],
  route: "servers/{subscriptionId}/{resourceGroup}/{serverName}/backups",
  handler: apiStartBackup,
});
