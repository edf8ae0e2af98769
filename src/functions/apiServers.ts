import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { declareHttp } from "./registry.js";

/** GET /api/servers (Backup.Reader). */
export async function apiListServers(request: HttpRequest): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).backups.api.listServers(request);
}

/** GET /api/servers/{subscriptionId}/{resourceGroup}/{serverName} (Backup.Reader). */
export async function apiGetServer(request: HttpRequest): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).backups.api.getServer(request);
}

declareHttp("apiListServers", { methods: ["GET"], route: "servers", handler: apiListServers });
declareHttp("apiGetServer", {
  methods: ["GET"],
  route: "servers/{subscriptionId}/{resourceGroup}/{serverName}",
  handler: apiGetServer,
});
