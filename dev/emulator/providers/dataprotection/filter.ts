import { codes } from "./engine.js";
import type { Failure } from "./engine.js";
import type { JobRecord } from "./state.js";

/**
 * The job list's `$filter`: `startTime ge|gt|le|lt|eq '<ISO>'`, `status eq '<s>'`, `operation eq '<o>'`,
 * `isUserTriggered eq true|false`, joined with `and` (what job pollers send to read only new jobs).
 * `startTime` is compared with the time the job reports (`reported`, the clock's), so a client that filters on
 * a start time it read gets that job back.
 */
export function filterJobs(
  jobs: JobRecord[],
  filter: string | undefined,
  reported: (emulatedMs: number) => number = (ms) => ms,
): JobRecord[] | Failure {
  if (filter === undefined || filter.trim() === "") return jobs;
  const predicates: Array<(j: JobRecord) => boolean> = [];
  for (const clause of filter.split(/\s+and\s+/i)) {
    const m = /^\s*(\w+)\s+(eq|ne|ge|gt|le|lt)\s+(?:'([^']*)'|(true|false))\s*$/i.exec(clause);
    if (!m || !m[1] || !m[2]) return unsupported(filter);
    const field = m[1].toLowerCase();
    const op = m[2].toLowerCase();
    const value = m[3] ?? m[4] ?? "";
    if (field === "starttime") {
      const at = Date.parse(value);
      if (Number.isNaN(at)) return unsupported(filter);
      const cmp: Record<string, (a: number) => boolean> = {
        eq: (a) => a === at,
        ne: (a) => a !== at,
        ge: (a) => a >= at,
        gt: (a) => a > at,
        le: (a) => a <= at,
        lt: (a) => a < at,
      };
      const f = cmp[op];
      if (!f) return unsupported(filter);
      predicates.push((j) => f(reported(j.startMs)));
    } else if (
      (field === "status" || field === "operation" || field === "isusertriggered") &&
      (op === "eq" || op === "ne")
    ) {
      const get = (j: JobRecord): string =>
        field === "status" ? j.status : field === "operation" ? j.operation : String(j.isUserTriggered);
      predicates.push((j) => (get(j).toLowerCase() === value.toLowerCase()) === (op === "eq"));
    } else return unsupported(filter);
  }
  return jobs.filter((j) => predicates.every((p) => p(j)));
}

const unsupported = (filter: string): Failure => ({
  status: 400,
  code: codes.invalidParameter,
  message: `The $filter '${filter}' is not supported. Use startTime (ge, gt, le, lt, eq), status eq, operation eq or isUserTriggered eq, joined with 'and'.`,
});
