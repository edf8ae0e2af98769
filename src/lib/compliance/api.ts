import { z } from "zod";
import { Roles } from "../auth/roles.js";
import { readJsonBody } from "../http/body.js";
import { ApiError, jsonResponse } from "../http/errors.js";
import { createApiRunner, type HandleApiOptions } from "../http/handler.js";
import { pagedResponse } from "../http/paging.js";
import { parseQuery, queryParameters } from "../http/query.js";
import type { ApiRequest, ApiResponse } from "../http/types.js";
import type { ContextLike } from "../logger.js";
import { ComplianceClasses } from "../domain/compliance.js";
import type { SweepSummary } from "../store/sweeps.js";
import { sweepStartFromId } from "../store/sweeps.js";
import type { Sweeper } from "./sweeper.js";

/** `/api/sweeps`: start a sweep (Backup.Operator), read one or the latest (Backup.Reader). */
export interface SweepsApi {
  /** POST /api/sweeps `{ dryRun?: boolean }` → 202 with the Running sweep and a Location. */
  start(request: ApiRequest, context?: ContextLike): Promise<ApiResponse>;
  /** GET /api/sweeps/{id} or /api/sweeps/latest → 200 summary, 404 when unknown. */
  get(request: ApiRequest, context?: ContextLike): Promise<ApiResponse>;
  /** GET /api/sweeps/{id}/rows?class=&top=&continuationToken= → one page of per-server rows (and a nextLink). */
  listRows(request: ApiRequest, context?: ContextLike): Promise<ApiResponse>;
}

export type SweepsApiOptions = Omit<HandleApiOptions, "role">;

const startBody = z.object({ dryRun: z.boolean().optional() }).strict();

export function sweepView(s: SweepSummary): Record<string, unknown> {
  const { etag: _etag, scopeUnits: _units, ...rest } = s;
  return rest;
}

export function createSweepsApi(
  deps: { sweeper: Pick<Sweeper, "startSweep" | "getSweep" | "latestSweep" | "listRows"> },
  options: SweepsApiOptions = {},
): SweepsApi {
  const run = createApiRunner(options);
  return {
    start: (request, context) =>
      run(request, context, Roles.operator, async ({ requestId, principal }) => {
        parseQuery(request, {});
        const body = await readJsonBody(request, startBody, { optional: true });
        const summary = await deps.sweeper.startSweep({
          ...(body.dryRun === undefined ? {} : { dryRun: body.dryRun }),
          cause: `api:${principal.id}`.slice(0, 200),
        });
        const location = `/api/sweeps/${summary.id}`;
        return jsonResponse(202, { ...sweepView(summary), location }, requestId, { location });
      }),
    get: (request, context) =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const id = request.params["id"] ?? "";
        parseQuery(request, {});
        if (id.toLowerCase() === "latest") {
          const latest = await deps.sweeper.latestSweep();
          if (!latest)
            throw new ApiError(404, "NotFound", "No sweep has run yet.", {
              fix: "Start one: POST /api/sweeps.",
            });
          return jsonResponse(200, sweepView(latest), requestId);
        }
        if (!sweepStartFromId(id)) {
          throw new ApiError(
            400,
            "InvalidSweepId",
            `"${id}" is not a sweep id (e.g. 20261125T030000000Z-1a2b3c4d).`,
            {
              target: "id",
            },
          );
        }
        const summary = await deps.sweeper.getSweep(id);
        if (!summary) throw new ApiError(404, "NotFound", `Sweep ${id} does not exist.`, { target: "id" });
        return jsonResponse(200, sweepView(summary), requestId);
      }),
    listRows: (request, context) =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const id = request.params["id"] ?? "";
        if (!sweepStartFromId(id)) {
          throw new ApiError(
            400,
            "InvalidSweepId",
            `"${id}" is not a sweep id (e.g. 20261125T030000000Z-1a2b3c4d).`,
            {
              target: "id",
            },
          );
        }
        const q = parseQuery(request, {
          class: queryParameters.oneOf(ComplianceClasses),
          top: queryParameters.integer(1, 1000),
          continuationToken: queryParameters.continuationToken(),
        });
        if (!(await deps.sweeper.getSweep(id))) {
          throw new ApiError(404, "NotFound", `Sweep ${id} does not exist.`, { target: "id" });
        }
        const page = await deps.sweeper.listRows(id, {
          ...(q.class ? { class: q.class } : {}),
          ...(q.top ? { top: q.top } : {}),
          ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
        });
        return pagedResponse(request, page.rows, page.continuationToken, requestId);
      }),
  };
}
