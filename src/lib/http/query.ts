import { parseServerId, type ServerRef } from "../domain/serverId.js";
import { decodePageToken, InvalidContinuationTokenError } from "../util/pageToken.js";
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
      const allowed = Object.keys(parameters);
      throw new ApiError(
        400,
        "UnknownQueryParameter",
        allowed.length
          ? `Unknown query parameter "${name}". Allowed: ${allowed.join(", ")}.`
          : `Unknown query parameter "${name}": this route takes no query parameters.`,
        {
          target: name,
          fix: allowed.length
            ? "Remove the parameter or correct its name."
            : "Remove the query string (a function key may still travel as ?code=).",
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
      // A token is refused with its own code (rendered by errorResponse), not as a bad value.
      if (e instanceof InvalidContinuationTokenError) throw e;
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
  /** A PostgreSQL Flexible Server resource id, parsed into its parts. */
  serverId(): QueryParameter<ServerRef> {
    return {
      parse(value) {
        const server = value.length <= 512 ? parseServerId(value) : undefined;
        if (!server) throw new Error("must be a PostgreSQL Flexible Server resource id");
        return server;
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
        if (Number.isNaN(date.getTime()) || !fieldsMatch(value, date)) {
          throw new Error(`"${value}" is not a date and time that exists (e.g. 2026-01-31T00:00:00Z)`);
        }
        return date;
      },
    };
  },
  /**
   * A token this API returned with a page (`continuationToken`, also inside `nextLink`): the one check every
   * list runs before a store sees it; anything else is 400 InvalidContinuationToken. The store then checks
   * that the position belongs to the list asked for.
   */
  continuationToken(): QueryParameter<string> {
    return {
      parse(value) {
        decodePageToken(value);
        return value;
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

/**
 * Whether `date` (parsed from `value`) still has the calendar and clock fields written in `value`: `Date`
 * rolls 2026-02-30 over to 2 March and 24:00 to the next day instead of refusing them.
 */
function fieldsMatch(value: string, date: Date): boolean {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?(?:\.\d+)?(Z|([+-])(\d{2}):(\d{2}))?$/.exec(
      value,
    );
  if (!m) return false;
  const [, year, month, day, hour = "00", minute = "00", second = "00", , sign, offsetHours, offsetMinutes] =
    m;
  if (Number(offsetHours ?? 0) > 23 || Number(offsetMinutes ?? 0) > 59) return false;
  const offsetInMinutes =
    (sign === "-" ? -1 : 1) * (Number(offsetHours ?? 0) * 60 + Number(offsetMinutes ?? 0));
  // The wall-clock time written, in UTC fields: shift the instant by the zone's offset.
  const local = new Date(date.getTime() + offsetInMinutes * 60_000);
  return (
    local.getUTCFullYear() === Number(year) &&
    local.getUTCMonth() + 1 === Number(month) &&
    local.getUTCDate() === Number(day) &&
    local.getUTCHours() === Number(hour) &&
    local.getUTCMinutes() === Number(minute) &&
    local.getUTCSeconds() === Number(second)
  );
}
