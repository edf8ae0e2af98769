import type { IncomingMessage, ServerResponse } from "node:http";
import type { Cookie, HttpRequest as HttpRequestType, HttpResponseInit } from "@azure/functions";
import { HttpRequest, HttpResponse } from "./functionsRuntime.js";
import type { FunctionDeclaration } from "../../src/functions/registry.js";
import { compareRoutes, compileRoute, type CompiledRoute } from "./routes.js";
import { HostHttpError } from "./respond.js";

type HttpDeclaration = Extract<FunctionDeclaration, { kind: "http" }>;

export interface HttpRoute {
  readonly declaration: HttpDeclaration;
  readonly route: CompiledRoute;
  /** Upper-case methods. */
  readonly methods: readonly string[];
  readonly authLevel: "anonymous" | "function" | "admin";
}

export function buildRoutes(declarations: readonly FunctionDeclaration[]): HttpRoute[] {
  return declarations
    .filter((d): d is HttpDeclaration => d.kind === "http")
    .map((declaration) => ({
      declaration,
      route: compileRoute(declaration.options.route ?? declaration.name),
      // The defaults @azure/functions applies in app.http (the registry sets authLevel "function" itself).
      methods: (declaration.options.methods ?? ["GET", "POST"]).map((m) => m.toUpperCase()),
      authLevel: declaration.options.authLevel ?? "anonymous",
    }))
    .sort((a, b) => compareRoutes(a.route, b.route));
}

/** The route that serves `method path`; a path that matches only with other methods is a 404, as in Azure. */
export function findRoute(
  routes: readonly HttpRoute[],
  method: string,
  path: string,
): { route: HttpRoute; params: Record<string, string> } {
  const allowed = new Set<string>();
  for (const route of routes) {
    const params = route.route.match(path);
    if (!params) continue;
    if (route.methods.includes(method)) return { route, params };
    route.methods.forEach((m) => allowed.add(m));
  }
  if (allowed.size > 0) {
    throw new HostHttpError(
      404,
      `No function serves ${method} at this path; it accepts ${[...allowed].join(", ")}.`,
    );
  }
  throw new HostHttpError(404, `No function serves the path ${path}.`);
}

export function toHttpRequest(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  params: Record<string, string>,
): HttpRequestType {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return new HttpRequest({
    method: req.method ?? "GET",
    url: url.toString(),
    headers,
    params,
    body: body.length > 0 ? { bytes: body } : undefined,
  });
}

/** Writes what the handler returned (HttpResponseInit or HttpResponse) the way the host serialises it. */
export async function writeHttpResult(res: ServerResponse, method: string, result: unknown): Promise<void> {
  const response =
    result instanceof HttpResponse ? result : new HttpResponse((result ?? {}) as HttpResponseInit);
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const setCookies = [...response.headers.getSetCookie(), ...response.cookies.map(serializeCookie)];
  if (setCookies.length > 0) headers["set-cookie"] = setCookies;
  const body = Buffer.from(await response.arrayBuffer());
  if (method !== "HEAD") headers["content-length"] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(method === "HEAD" ? undefined : body);
}

function serializeCookie(cookie: Cookie): string {
  const parts = [`${cookie.name}=${encodeURIComponent(cookie.value)}`];
  if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
  if (cookie.path) parts.push(`Path=${cookie.path}`);
  if (cookie.expires !== undefined) parts.push(`Expires=${new Date(cookie.expires).toUTCString()}`);
  if (cookie.maxAge !== undefined) parts.push(`Max-Age=${cookie.maxAge}`);
  if (cookie.secure) parts.push("Secure");
  if (cookie.httpOnly) parts.push("HttpOnly");
  if (cookie.sameSite) parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join("; ");
}
