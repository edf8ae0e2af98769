import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { declareHttp } from "./registry.js";

/** Liveness probe behind the function key (every endpoint authenticates); touches neither Azure nor Storage. */
export async function health(request: HttpRequest): Promise<HttpResponseInit> {
  // Loaded on first call, as every function's modules are: the entry module stays small (cold start).
  const [{ HARDENING_HEADERS }, { requestIdHeader }] = await Promise.all([
    import("../lib/http/errors.js"),
    import("../lib/http/requestId.js"),
  ]);
  return {
    status: 200,
    headers: { ...requestIdHeader(request), ...HARDENING_HEADERS },
    jsonBody: { status: "ok", service: "pgflex-autoprotect" },
  };
}

declareHttp("health", { methods: ["GET"], authLevel: "function", route: "health", handler: health });
