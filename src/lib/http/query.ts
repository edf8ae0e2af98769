import { ApiError } from "./errors.js";
import type { ApiRequest } from "./types.js";

export interface QueryParameter<T> {
  /** Returns the parsed value or throws a message naming what is wrong. */
  parse(value: string): T;
}

/**
 * Parses the query string against an allow-list: an unknown or repeated parameter is a 400, as is a value
 * its parser refuses. Keeps callers from silently ignoring a typo such as `?stauts=Failed`.
 */
export function parseQuery<P extends Record<string, QueryParameter<unknown>>>(
  request: Pick<ApiRequest, "query">,
  parameters: P,
): { [K in keyof P]?: P[K] extends QueryParameter<infer T> ? T : never } {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [name, value] of request.query.entries()) {
    if (name === "code") continue; // the function key travels as ?code= when not sent as a header
    const parameter = parameters[name];
    if (!parameter) {
      throw new ApiError(
        400,
        "UnknownQueryParameter",
        `Unknown query parameter "${name}". Allowed: ${Object.keys(parameters).join(", ")}.`,
        {
          target: name,
        },
      );
    }
    if (seen.has(name))
      throw new ApiError(400, "InvalidQueryParameter", `Query parameter "${name}" is repeated.`, {
        target: name,
      });
    seen.add(name);
    try {
      out[name] = parameter.parse(value);
    } catch (e) {
      throw new ApiError(
        400,
        "InvalidQueryParameter",
        `Query parameter "${name}": ${e instanceof Error ? e.message : String(e)}.`,
        {
          target: name,
        },
      );
    }
  }
  return out as { [K in keyof P]?: P[K] extends QueryParameter<infer T> ? T : never };
}

export const queryParameters = {
  string(pattern: RegExp, description: string, maxLength = 512): QueryParameter<string> {
    return {
      parse(value) {
        if (value.length > maxLength || !pattern.test(value)) throw new Error(`must be ${description}`);
        return value;
      },
    };
  },
  oneOf<const T extends string>(values: readonly T[]): QueryParameter<T> {
    return {
      parse(value) {
        const match = values.find((v) => v.toLowerCase() === value.toLowerCase());
        if (!match) throw new Error(`must be one of ${values.join(", ")}`);
        return match;
      },
    };
  },
  dateTime(): QueryParameter<Date> {
    return {
      parse(value) {
        if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
          throw new Error("must be an ISO 8601 date or date-time with a zone, e.g. 2026-01-31T00:00:00Z");
        }
        const date = new Date(value);
        if (Number.isNaN(date.getTime())) throw new Error("is not a valid date");
        return date;
      },
    };
  },
  integer(min: number, max: number): QueryParameter<number> {
    return {
      parse(value) {
        if (!/^\d{1,6}$/.test(value)) throw new Error(`must be a whole number from ${min} to ${max}`);
        const n = Number(value);
        if (n < min || n > max) throw new Error(`must be a whole number from ${min} to ${max}`);
        return n;
      },
    };
  },
};
