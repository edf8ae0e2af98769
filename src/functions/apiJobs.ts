import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { declareHttp } from "./registry.js";

/** GET /api/jobs/{jobId}: one job (bare GUID or full id) (Backup.Reader). */
export async function apiGetJob(request: HttpRequest): Promise<HttpResponseInit> {
  const { getBackupApp } = await import("../lib/backups/app.js");
  return (await getBackupApp()).api.getJob(request);
}

/** GET /api/jobs?server=&status=&since=&until=&top=&continuationToken= (Backup.Reader). */
export async function apiListJobs(request: HttpRequest): Promise<HttpResponseInit> {
  const { getBackupApp } = await import("../lib/backups/app.js");
  return (await getBackupApp()).api.listJobs(request);
}

declareHttp("apiGetJob", { methods: ["GET"], route: "jobs/{*jobId}", handler: apiGetJob });
declareHttp("apiListJobs", { methods: ["GET"], route: "jobs", handler: apiListJobs });
