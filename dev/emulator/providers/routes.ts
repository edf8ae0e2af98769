import type { HttpMethod, RouteDefinition, RouteHandler } from "../core/provider.js";

/** A route builder for operations that take `apiVersions`: `route("GET", path, "Servers_Get", handler)`. */
export function routeBuilder(
  apiVersions: readonly string[],
): (method: HttpMethod, path: string, operationName: string, handler: RouteHandler) => RouteDefinition {
  return (method, path, operationName, handler) => ({ method, path, apiVersions, operationName, handler });
}
