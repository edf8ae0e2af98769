import type { HttpMethod, RouteDefinition } from "./provider.js";

interface CompiledRoute {
  route: RouteDefinition;
  /** Lower-cased literal or `{name}` per segment, after the optional leading wildcard. */
  segments: Array<{ literal: string } | { param: string }>;
  wildcard?: string;
}

export interface RouteMatch {
  route: RouteDefinition;
  params: Record<string, string>;
}

export interface Router {
  /**
   * Routes of this method whose path matches, exact routes before scope wildcards (two providers may
   * serve the same path for different api-versions: the caller picks by api-version), and whether the
   * path matched for any method.
   */
  match(pathSegments: readonly string[], method: HttpMethod): { matches: RouteMatch[]; pathMatched: boolean };
}

const PARAM = /^\{(\*?)(\w+)\}$/u;

function compile(route: RouteDefinition): CompiledRoute {
  const parts = route.path.split("/").filter(Boolean);
  const compiled: CompiledRoute = { route, segments: [] };
  parts.forEach((part, index) => {
    const param = PARAM.exec(part);
    if (param?.[1] === "*") {
      if (index !== 0) throw new TypeError(`Wildcard must be the first segment: ${route.path}`);
      compiled.wildcard = param[2];
    } else if (param) compiled.segments.push({ param: param[2] ?? "" });
    else compiled.segments.push({ literal: part.toLowerCase() });
  });
  return compiled;
}

function tryMatch(compiled: CompiledRoute, segments: readonly string[]): Record<string, string> | undefined {
  const offset = segments.length - compiled.segments.length;
  if (compiled.wildcard === undefined ? offset !== 0 : offset < 0) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < compiled.segments.length; i += 1) {
    const template = compiled.segments[i];
    const actual = segments[offset + i] ?? "";
    if (!template) return undefined;
    if ("literal" in template) {
      if (template.literal !== actual.toLowerCase()) return undefined;
    } else {
      if (actual === "") return undefined;
      params[template.param] = actual;
    }
  }
  if (compiled.wildcard !== undefined) params[compiled.wildcard] = `/${segments.slice(0, offset).join("/")}`;
  return params;
}

export function createRouter(routes: readonly RouteDefinition[]): Router {
  const compiled = routes.map(compile);
  // Exact routes win over scope wildcards; among wildcards, longer fixed tails win.
  compiled.sort((a, b) => {
    if ((a.wildcard === undefined) !== (b.wildcard === undefined)) return a.wildcard === undefined ? -1 : 1;
    return b.segments.length - a.segments.length;
  });
  return {
    match(pathSegments, method) {
      let pathMatched = false;
      const matches: RouteMatch[] = [];
      for (const candidate of compiled) {
        const params = tryMatch(candidate, pathSegments);
        if (!params) continue;
        pathMatched = true;
        if (candidate.route.method === method) matches.push({ route: candidate.route, params });
      }
      return { matches, pathMatched };
    },
  };
}
