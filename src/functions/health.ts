import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { HARDENING_HEADERS } from "../lib/http/errors.js";
import { requestIdHeader } from "../lib/http/requestId.js";
import { declareHttp } from "./registry.js";

/** Liveness probe behind the function key (every endpoint authenticates); touches neither Azure nor Storage. */
export async function health(request: HttpRequest): Promise<HttpResponseInit> {
  return {
    status: 200,
    headers: { ...requestIdHeader(request), ...HARDENING_HEADERS },
    jsonBody: { status: "ok", service: "pgflex-autoprotect" },
  };
}

declareHttp("health", { methods: ["GET"], authLevel: "function", route: "health", handler: health });
