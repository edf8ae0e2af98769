import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { declareHttp } from "./registry.js";

/**
 * GET /api/jobs?server=&status=&since=&until=&top=&continuationToken= and GET /api/jobs/{jobId} (bare GUID
 * or full job id) (Backup.Reader). One function: a catch-all route also matches the bare `jobs` path.
 */
export async function apiJobs(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { getApp } = await import("../lib/app.js");
  const { api } = (await getApp()).backups;
  return request.params["jobId"] ? api.getJob(request, context) : api.listJobs(request, context);
}

declareHttp("apiJobs", { methods: ["GET"], route: "jobs/{*jobId}", handler: apiJobs });
