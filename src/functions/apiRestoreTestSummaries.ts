import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { declareHttp } from "./registry.js";

/** GET /api/restoreTestSummaries?server=&top=&continuationToken=: each server's latest restore test (Backup.Reader). */
export async function apiRestoreTestSummaries(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).restoreTestSummaries.listSummaries(request, context);
}

declareHttp("apiRestoreTestSummaries", {
  methods: ["GET"],
  route: "restoreTestSummaries",
  handler: apiRestoreTestSummaries,
});
