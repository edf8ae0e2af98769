import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { declareHttp } from "./registry.js";

/** POST /api/sweeps `{ dryRun? }`: starts a compliance sweep (Backup.Operator). */
export async function apiStartSweep(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).compliance.api.start(request, context);
}

/** GET /api/sweeps/{id} and /api/sweeps/latest: summary, counts, diff, failures (Backup.Reader). */
export async function apiGetSweep(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).compliance.api.get(request, context);
}

/** GET /api/sweeps/{id}/rows?class=&top=&continuationToken=: per-server rows of a sweep (Backup.Reader). */
export async function apiListSweepRows(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).compliance.api.listRows(request, context);
}

declareHttp("apiStartSweep", { methods: ["POST"], route: "sweeps", handler: apiStartSweep });
declareHttp("apiGetSweep", { methods: ["GET"], route: "sweeps/{id}", handler: apiGetSweep });
declareHttp("apiListSweepRows", { methods: ["GET"], route: "sweeps/{id}/rows", handler: apiListSweepRows });
