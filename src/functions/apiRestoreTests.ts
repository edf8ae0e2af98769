import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { declareHttp } from "./registry.js";

async function restoreTestApi() {
  const { getApp } = await import("../lib/app.js");
  return (await getApp()).restoreTests.api;
}

/** POST /api/restoreTests {serverId?}: run the plan now, or test one server (Backup.Restore). */
export async function apiRunRestoreTests(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  return (await restoreTestApi()).runTests(request, context);
}

/** GET /api/restoreTests?server=&top=&continuationToken= and GET /api/restoreTests/{testId} (Backup.Reader). */
export async function apiRestoreTests(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const api = await restoreTestApi();
  return request.params["testId"] ? api.getTest(request, context) : api.listTests(request, context);
}

declareHttp("apiRunRestoreTests", { methods: ["POST"], route: "restoreTests", handler: apiRunRestoreTests });
declareHttp("apiRestoreTests", {
  methods: ["GET"],
  route: "restoreTests/{testId?}",
  handler: apiRestoreTests,
});
