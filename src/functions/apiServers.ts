import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { declareHttp } from "./registry.js";

/** GET /api/servers (Backup.Reader). */
export async function apiListServers(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).backups.api.listServers(request, context);
}

/** GET /api/servers/{subscriptionId}/{resourceGroup}/{serverName} (Backup.Reader). */
export async function apiGetServer(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).backups.api.getServer(request, context);
}

declareHttp("apiListServers", { methods: ["GET"], route: "servers", handler: apiListServers });
declareHttp("apiGetServer", {
  methods: ["GET"],
  route: "servers/{subscriptionId}/{resourceGroup}/{serverName}",
  handler: apiGetServer,
});
