import { z } from "zod";
import { Roles } from "../auth/roles.js";
import { readJsonBody } from "../http/body.js";
import { ApiError, jsonResponse } from "../http/errors.js";
import { createApiRunner, type HandleApiOptions } from "../http/handler.js";
import { pagedResponse } from "../http/paging.js";
import { parseQuery, queryParameters } from "../http/query.js";
import type { ApiRequest, ApiResponse } from "../http/types.js";
import type { ContextLike } from "../logger.js";
import { serverRefFromParams } from "../backups/api.js";
import type { RecoveryPointInfo } from "../azure/restoreOperations.js";
import { isRestoreId, type RestoreRecord, type RestoreStore } from "../store/restores.js";
import type { RestoreService } from "./service.js";

export interface RestoreApiDeps {
  restore: RestoreService;
  restores: Pick<RestoreStore, "listPage">;
  /** Subscriptions in scope; empty means all. */
  scopes: readonly string[];
}

export type RestoreApiOptions = Omit<HandleApiOptions, "role">;

export function recoveryPointView(p: RecoveryPointInfo): Record<string, unknown> {
  return {
    recoveryPointId: p.id,
    time: p.time,
    ...(p.retentionTag ? { retentionTag: p.retentionTag } : {}),
    ...(p.expiryTime ? { expiryTime: p.expiryTime } : {}),
    ...(p.policyName ? { policyName: p.policyName } : {}),
    ...(p.state ? { state: p.state } : {}),
  };
}

export function restoreView(r: RestoreRecord): Record<string, unknown> {
  return {
    restoreId: r.restoreId,
    serverId: r.serverId,
    serverName: r.serverName,
    status: r.status,
    recoveryPointId: r.recoveryPointId,
    recoveryPointTime: r.recoveryPointTime,
    targetContainerId: r.targetContainerId,
    ...(r.jobId ? { jobId: r.jobId } : {}),
    ...(r.jobResourceId ? { jobResourceId: r.jobResourceId } : {}),
    ...(r.requestedBy ? { requestedBy: r.requestedBy } : {}),
    createdAt: r.createdAt,
    ...(r.endTime ? { endTime: r.endTime } : {}),
    ...(r.errorCode ? { error: { code: r.errorCode, message: r.errorMessage } } : {}),
    ...(r.files ? { files: r.files } : {}),
    ...(r.commands ? { commands: r.commands } : {}),
    updatedAt: r.updatedAt,
  };
}

const isoDateTime = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/,
    "must be an ISO 8601 date-time with a zone, e.g. 2026-01-31T00:00:00Z",
  )
  .refine((v) => !Number.isNaN(Date.parse(v)), "must be a date and time that exists");

const startBody = z
  .object({
    targetContainerId: z.string({ error: "is required: the blob container's resource id" }).min(1).max(1024),
    recoveryPointId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a recovery point id from GET …/recoveryPoints")
      .optional(),
    pointInTime: isoDateTime.optional(),
  })
  .strict();

function baseUrl(request: ApiRequest): string {
  const url = new URL(request.url);
  return `${url.protocol}//${url.host}`;
}

export type RestoreApi = ReturnType<typeof createRestoreApi>;

/** The restore endpoints: recovery points and restores for readers, starting a restore for Backup.Restore. */
export function createRestoreApi(deps: RestoreApiDeps, options: RestoreApiOptions = {}) {
  const run = createApiRunner(options);
  const inScope = (serverId: string) =>
    deps.scopes.length === 0 || deps.scopes.includes((serverId.split("/")[2] ?? "").toLowerCase());
  return {
    listRecoveryPoints: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const ref = serverRefFromParams(request.params);
        const q = parseQuery(request, {
          top: queryParameters.integer(1, 1000),
          continuationToken: queryParameters.continuationToken(),
        });
        const page = await deps.restore.listRecoveryPoints(ref, {
          ...(q.top ? { top: q.top } : {}),
          ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
        });
        return pagedResponse(request, page.items.map(recoveryPointView), page.continuationToken, requestId);
      }),

    startRestore: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.restore, async ({ requestId, principal }) => {
        const ref = serverRefFromParams(request.params);
        parseQuery(request, {});
        const body = await readJsonBody(request, startBody);
        if (body.recoveryPointId && body.pointInTime) {
          throw new ApiError(
            400,
            "InvalidRequestBody",
            'Give "recoveryPointId" or "pointInTime", not both.',
            {
              target: "pointInTime",
              fix: "Omit both for the latest recovery point.",
            },
          );
        }
        const restore = await deps.restore.start(ref, {
          targetContainerId: body.targetContainerId,
          ...(body.recoveryPointId ? { recoveryPointId: body.recoveryPointId } : {}),
          ...(body.pointInTime ? { pointInTime: new Date(body.pointInTime) } : {}),
          requestedBy: principal.id,
        });
        const statusUrl = `${baseUrl(request)}/api/restores/${restore.restoreId}`;
        return jsonResponse(202, { ...restoreView(restore), statusUrl }, requestId, { location: statusUrl });
      }),

    listRestores: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const q = parseQuery(request, {
          server: queryParameters.serverId(),
          top: queryParameters.integer(1, 1000),
          continuationToken: queryParameters.continuationToken(),
        });
        const server = q.server;
        const page = await deps.restores.listPage({
          ...(server ? { serverId: server.resourceId } : {}),
          top: q.top ?? 50,
          ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
        });
        const value = page.items.filter((r) => inScope(r.serverId)).map(restoreView);
        return pagedResponse(request, value, page.continuationToken, requestId);
      }),

    getRestore: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        parseQuery(request, {});
        const id = request.params["restoreId"] ?? "";
        if (!isRestoreId(id)) {
          throw new ApiError(
            400,
            "InvalidRestoreId",
            "The restore id must be one POST …/restores returned.",
            {
              target: "restoreId",
            },
          );
        }
        const restore = await deps.restore.get(id);
        if (!restore || !inScope(restore.serverId)) {
          throw new ApiError(404, "RestoreNotFound", `Restore ${id} is not known to this app.`, {
            target: id,
            fix: "List restores with GET /api/restores.",
          });
        }
        return jsonResponse(200, restoreView(restore), requestId);
      }),
  };
}
