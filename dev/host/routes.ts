/**
 * ASP.NET-style route templates as the Functions host reads them: literal segments (case-insensitive),
 * `{name}`, optional `{name?}`, constrained `{name:int}` / `{name:guid}` / `{name:alpha}` / `{name:bool}`,
 * and a trailing catch-all `{*rest}`.
 */
export interface CompiledRoute {
  readonly template: string;
  /**
   * ASP.NET inbound precedence, one digit per segment (literal 1, constrained 2, parameter 3, optional 4,
   * catch-all 5), compared digit by digit with {@link compareRoutes}: the lower, more specific, wins.
   */
  readonly rank: readonly number[];
  match(path: string): Record<string, string> | undefined;
}

type Segment =
  | { kind: "literal"; text: string }
  | { kind: "param"; name: string; optional: boolean; constraint?: string; catchAll: boolean };

const constraints: Record<string, RegExp> = {
  int: /^-?\d+$/,
  long: /^-?\d+$/,
  guid: /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i,
  alpha: /^[a-z]+$/i,
  bool: /^(true|false)$/i,
};

export function compileRoute(template: string): CompiledRoute {
  const trimmed = template.replace(/^\/+|\/+$/g, "");
  const segments: Segment[] = trimmed === "" ? [] : trimmed.split("/").map((s) => parseSegment(s, template));
  segments.forEach((s, i) => {
    if (s.kind === "param" && s.catchAll && i !== segments.length - 1) {
      throw new RangeError(`Route "${template}": a catch-all parameter must be the last segment.`);
    }
  });
  const rank = segments.map((s) =>
    s.kind === "literal" ? 1 : s.catchAll ? 5 : s.optional ? 4 : s.constraint ? 2 : 3,
  );
  return {
    template,
    rank,
    match(path) {
      const stripped = path.replace(/^\/+|\/+$/g, "");
      const parts = stripped === "" ? [] : stripped.split("/");
      const params: Record<string, string> = {};
      for (let i = 0; i < segments.length; i++) {
        const seg = segments[i] as Segment;
        const part = parts[i];
        if (seg.kind === "literal") {
          if (part === undefined || safeDecode(part)?.toLowerCase() !== seg.text.toLowerCase())
            return undefined;
          continue;
        }
        if (seg.catchAll) {
          const rest = parts.slice(i).map(safeDecode);
          if (rest.some((r) => r === undefined)) return undefined;
          if (rest.length > 0) params[seg.name] = rest.join("/");
          return params;
        }
        if (part === undefined || part === "") {
          if (seg.optional) continue;
          return undefined;
        }
        const value = safeDecode(part);
        if (value === undefined) return undefined;
        if (seg.constraint && !constraints[seg.constraint]?.test(value)) return undefined;
        params[seg.name] = value;
      }
      const extra = parts.slice(segments.length).filter((p) => p !== "");
      return extra.length === 0 ? params : undefined;
    },
  };
}

/** Sort order for matching: `jobs` before `jobs/{*id}`, `servers/summary` before `servers/{id}`. */
export function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  for (let i = 0; i < Math.max(a.rank.length, b.rank.length); i++) {
    const diff = (a.rank[i] ?? 0) - (b.rank[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function parseSegment(text: string, template: string): Segment {
  const m = /^\{(\*{1,2})?([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$/.exec(text);
  if (m) {
    const constraint = m[3];
    if (constraint && !constraints[constraint]) {
      throw new RangeError(
        `Route "${template}": the constraint "${constraint}" is not supported by the local host.`,
      );
    }
    return {
      kind: "param",
      name: m[2] as string,
      optional: Boolean(m[4]),
      constraint,
      catchAll: Boolean(m[1]),
    };
  }
  if (/[{}]/.test(text))
    throw new RangeError(`Route "${template}": the segment "${text}" is not a valid template.`);
  return { kind: "literal", text };
}

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
