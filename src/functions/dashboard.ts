import { randomBytes } from "node:crypto";
import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { declareHttp } from "./registry.js";

/**
 * GET /api/dashboard?code=<function key>: the dashboard page. It holds no data; the page reads
 * /api/servers, /api/jobs and /api/sweeps with the caller's Entra ID token, so readers see and operators act.
 */
export async function dashboard(request: HttpRequest): Promise<HttpResponseInit> {
  const [{ renderDashboard }, { requestIdHeader }] = await Promise.all([
    import("../dashboard/page.js"),
    import("../lib/http/requestId.js"),
  ]);
  const page = await renderDashboard(randomBytes(16).toString("base64"));
  return { status: 200, headers: { ...requestIdHeader(request), ...page.headers }, body: page.body };
}

declareHttp("dashboard", { methods: ["GET"], route: "dashboard", handler: dashboard });
