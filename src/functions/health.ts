import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { declareHttp } from "./registry.js";

/** Liveness probe: answers without touching Azure or Storage. */
export async function health(_request: HttpRequest): Promise<HttpResponseInit> {
  return { status: 200, jsonBody: { status: "ok", service: "pgflex-autoprotect" } };
}

declareHttp("health", { methods: ["GET"], authLevel: "anonymous", route: "health", handler: health });
