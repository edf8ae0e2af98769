import { z } from "zod";
import { Roles } from "../auth/roles.js";
import { parseServerId } from "../domain/serverId.js";
import { readJsonBody } from "../http/body.js";
import { ApiError, jsonResponse } from "../http/errors.js";
import { createApiRunner, type HandleApiOptions } from "../http/handler.js";
import { pagedResponse } from "../http/paging.js";
import { parseQuery, queryParameters } from "../http/query.js";
import type { ApiRequest, ApiResponse } from "../http/types.js";
import type { ContextLike } from "../logger.js";
import { isRestoreTestId } from "../store/restoreTests.js";
import type { RestoreTestRecord, RestoreTestService } from "./model.js";

export interface RestoreTestApiDeps {
  service: RestoreTestService;
  /** Subscriptions in scope; empty means all. */
  scopes: readonly string[];
}

export type RestoreTestApiOptions = Omit<HandleApiOptions, "role">;

/** A test as the API shows it (the stored record without its ETag). */
export function restoreTestView(t: RestoreTestRecord): Record<string, unknown> {
  const { etag: _etag, ...view } = t;
  return view;
}

const runBody = z
  .object({
    serverId: z
      .string()
      .max(512)
      .refine(
        (v) => parseServerId(v) !== undefined,
        "must be a PostgreSQL flexible server resource id, e.g. /subscriptions/…/resourceGroups/…/providers/Microsoft.DBforPostgreSQL/flexibleServers/…",
      )
      .optional(),
  })
  .strict();

function baseUrl(request: ApiRequest): string {
  const url = new URL(request.url);
  return `${url.protocol}//${url.host}`;
}

export type RestoreTestApi = ReturnType<typeof createRestoreTestApi>;

/** POST /api/restoreTests (Backup.Restore), GET /api/restoreTests and GET /api/restoreTests/{testId} (Backup.Reader). */
export function createRestoreTestApi(deps: RestoreTestApiDeps, options: RestoreTestApiOptions = {}) {
  const run = createApiRunner(options);
  const inScope = (serverId: string) =>
    deps.scopes.length === 0 || deps.scopes.includes((serverId.split("/")[2] ?? "").toLowerCase());
  return {
    runTests: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.restore, async ({ requestId, principal }) => {
        parseQuery(request, {});
        const body = await readJsonBody(request, runBody, { optional: true });
        const server = body.serverId ? parseServerId(body.serverId) : undefined;
        const result = await deps.service.run({
          ...(server ? { serverId: server.resourceId } : {}),
          requestedBy: principal.id,
        });
        const base = baseUrl(request);
        return jsonResponse(
          202,
          {
            started: result.started.map((t) => ({
              ...restoreTestView(t),
              statusUrl: `${base}/api/restoreTests/${t.testId}`,
            })),
            skipped: result.skipped,
          },
          requestId,
        );
      }),

    listTests: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const q = parseQuery(request, {
          server: queryParameters.serverId(),
          top: queryParameters.integer(1, 1000),
          continuationToken: queryParameters.continuationToken(),
        });
        const page = await deps.service.listPage({
          ...(q.server ? { serverId: q.server.resourceId } : {}),
          top: q.top ?? 50,
          ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
        });
        const value = page.items.filter((t) => inScope(t.serverId)).map(restoreTestView);
        return pagedResponse(request, value, page.continuationToken, requestId);
      }),

    getTest: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        parseQuery(request, {});
        const id = request.params["testId"] ?? "";
        if (!isRestoreTestId(id)) {
          throw new ApiError(
            400,
            "InvalidTestId",
            "The test id must be one POST /api/restoreTests returned.",
            {
              target: "testId",
              fix: "List restore tests with GET /api/restoreTests.",
            },
          );
        }
        const test = await deps.service.get(id);
        if (!test || !inScope(test.serverId)) {
          throw new ApiError(404, "RestoreTestNotFound", `Restore test ${id} is not known to this app.`, {
            target: id,
            fix: "List restore tests with GET /api/restoreTests.",
          });
        }
        return jsonResponse(200, restoreTestView(test), requestId);
      }),
  };
}
