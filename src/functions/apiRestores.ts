import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { declareHttp } from "./registry.js";

async function restoreApi() {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).restore.api;
}

/** GET /api/servers/{subscriptionId}/{resourceGroup}/{serverName}/recoveryPoints?top=&continuationToken= (Backup.Reader). */
export async function apiListRecoveryPoints(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return (await restoreApi()).listRecoveryPoints(request, context);
}

/** POST /api/servers/{subscriptionId}/{resourceGroup}/{serverName}/restores: restore as files (Backup.Restore). */
export async function apiStartRestore(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return (await restoreApi()).startRestore(request, context);
}

/** GET /api/restores?server=&top=&continuationToken= and GET /api/restores/{restoreId} (Backup.Reader). */
export async function apiRestores(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const api = await restoreApi();
  return request.params["restoreId"] ? api.getRestore(request, context) : api.listRestores(request, context);
}

declareHttp("apiListRecoveryPoints", {
  methods: ["GET"],
  route: "servers/{subscriptionId}/{resourceGroup}/{serverName}/recoveryPoints",
  handler: apiListRecoveryPoints,
});
declareHttp("apiStartRestore", {
  methods: ["POST"],
  route: "servers/{subscriptionId}/{resourceGroup}/{serverName}/restores",
  handler: apiStartRestore,
});
declareHttp("apiRestores", { methods: ["GET"], route: "restores/{restoreId?}", handler: apiRestores });
