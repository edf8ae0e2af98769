import { z } from "zod";
import { Roles } from "../auth/roles.js";
import { readJsonBody } from "../http/body.js";
import { ApiError, jsonResponse } from "../http/errors.js";
import { createApiRunner, type HandleApiOptions } from "../http/handler.js";
import { pagedResponse } from "../http/paging.js";
import { parseQuery, queryParameters } from "../http/query.js";
import type { ApiRequest, ApiResponse } from "../http/types.js";
import type { ContextLike } from "../logger.js";
import { parseJobId } from "../jobs/ids.js";
import type { JobRecord, JobStore } from "../store/jobs.js";
import type { ServerRecord, ServerStore } from "../store/servers.js";
import { GUID_REGEX, isGuid } from "../domain/guid.js";
import { ProtectionStates } from "../domain/protectionStates.js";
import { formatServerId, isResourceGroupName, isServerName } from "../domain/serverId.js";
import { createListServerPager, type ServerPager } from "../store/serverPages.js";
import type { BackupService, ServerRef, StartedBackup } from "./service.js";
import { WeeklyBackupLimitError } from "./weeklyLimit.js";

export interface BackupApiDeps {
  backups: BackupService;
  jobs: JobStore;
  servers: Pick<ServerStore, "get" | "list">;
  /** Subscriptions in scope; empty means all. */
  scopes: readonly string[];
  /** Pages of the servers table; default: {@link createListServerPager} over `servers` (reads it all). */
  serverPages?: ServerPager;
}

export type BackupApiOptions = Omit<HandleApiOptions, "role">;

/** Path parameters to a server reference; 400 naming the first bad one. */
export function serverRefFromParams(params: Readonly<Record<string, string | undefined>>): ServerRef {
  const subscriptionId = params["subscriptionId"] ?? "";
  const resourceGroup = params["resourceGroup"] ?? "";
  const serverName = params["serverName"] ?? "";
  if (!isGuid(subscriptionId)) throw badId("subscriptionId", "a subscription GUID");
  if (!isResourceGroupName(resourceGroup)) {
    throw badId("resourceGroup", "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'");
  }
  if (!isServerName(serverName)) throw badId("serverName", "3-63 lower-case letters, digits and hyphens");
  return {
    subscriptionId: subscriptionId.toLowerCase(),
    resourceGroup: resourceGroup.toLowerCase(),
    serverName,
  };
}

function badId(target: string, expected: string): ApiError {
  return new ApiError(400, "InvalidResourceId", `Path parameter "${target}" must be ${expected}.`, {
    target,
  });
}

const startBody = z
  .object({
    retentionTag: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a policy retention tag name (letters, digits, '-' and '_')")
      .optional(),
    reason: z.string().max(500, "must be at most 500 characters").optional(),
    force: z.boolean({ message: "must be true or false" }).optional(),
  })
  .strict();

export function jobView(job: JobRecord): Record<string, unknown> {
  return {
    jobId: job.jobId,
    ...(job.jobResourceId ? { jobResourceId: job.jobResourceId } : {}),
    serverId: job.serverId,
    serverName: job.serverName,
    vaultId: job.vaultId,
    status: job.status,
    origin: job.origin,
    startTime: job.startTime,
    ...(job.endTime ? { endTime: job.endTime } : {}),
    ...(job.durationInMs !== undefined ? { durationInMs: job.durationInMs } : {}),
    ...(job.bytesTransferred !== undefined ? { bytesTransferred: job.bytesTransferred } : {}),
    ...(job.policyName ? { policyName: job.policyName } : {}),
    ...(job.retentionTag ? { retentionTag: job.retentionTag } : {}),
    ...(job.reason ? { reason: job.reason } : {}),
    ...(job.schedule ? { schedule: job.schedule } : {}),
    ...(job.errorCode || job.errorMessage
      ? {
          error: {
            code: job.errorCode,
            message: job.errorMessage,
            ...(job.recommendedAction ? { recommendedAction: job.recommendedAction } : {}),
          },
        }
      : {}),
    updatedAt: job.updatedAt,
  };
}

export function serverView(server: ServerRecord, latest?: JobRecord): Record<string, unknown> {
  return {
    id: server.resourceId,
    subscriptionId: server.subscriptionId,
    resourceGroup: server.resourceGroup,
    name: server.serverName,
    state: server.state,
    ...(server.policyName ? { policyName: server.policyName } : {}),
    ...(server.vaultId ? { vaultId: server.vaultId } : {}),
    ...(server.instanceName ? { instanceName: server.instanceName } : {}),
    ...(server.lastErrorCode
      ? { lastError: { code: server.lastErrorCode, message: server.lastErrorMessage, fix: server.fix } }
      : {}),
    lastBackup: latest
      ? {
          jobId: latest.jobId,
          status: latest.status,
          startTime: latest.startTime,
          ...(latest.endTime ? { endTime: latest.endTime } : {}),
        }
      : server.lastJobId
        ? { jobId: server.lastJobId, status: server.lastBackupStatus, endTime: server.lastBackupAt }
        : null,
    updatedAt: server.updatedAt,
  };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function baseUrl(request: ApiRequest): string {
  const url = new URL(request.url);
  return `${url.protocol}//${url.host}`;
}

/** The HTTP operations, each authenticated first and answering the stable error shape. */
export type BackupApi = ReturnType<typeof createBackupApi>;

export function createBackupApi(deps: BackupApiDeps, options: BackupApiOptions = {}) {
  const serverPages = deps.serverPages ?? createListServerPager(deps.servers);
  const run = createApiRunner(options);
  const inScope = (subscriptionId: string) =>
    deps.scopes.length === 0 || deps.scopes.includes(subscriptionId.toLowerCase());
  return {
    startBackup: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.operator, async ({ requestId, principal }) => {
        const ref = serverRefFromParams(request.params);
        parseQuery(request, {});
        const body = await readJsonBody(request, startBody, { optional: true });
        let job: StartedBackup;
        try {
          job = await deps.backups.start(ref, {
            origin: "api",
            requestedBy: principal,
            ...(body.retentionTag ? { retentionTag: body.retentionTag } : {}),
            ...(body.reason ? { reason: body.reason } : {}),
            ...(body.force ? { force: true } : {}),
          });
        } catch (e) {
          // The refusal carries this week's backup time and the next possible one besides message and fix.
          if (e instanceof WeeklyBackupLimitError) return jsonResponse(409, e.body(), requestId);
          throw e;
        }
        const statusUrl = `${baseUrl(request)}/api/jobs/${job.jobId}`;
        const answer = {
          jobId: job.jobId,
          status: job.status,
          statusUrl,
          ...(job.warning ? { warning: job.warning } : {}),
        };
        return jsonResponse(202, answer, requestId, { location: statusUrl });
      }),

    getJob: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        parseQuery(request, {});
        // A catch-all route hands over a full id without its leading slash.
        const raw = safeDecode(request.params["jobId"] ?? "").replace(/^(?=subscriptions\/)/i, "/");
        const parsed = parseJobId(raw);
        if (!parsed) {
          throw new ApiError(
            400,
            "InvalidJobId",
            "The job id must be a job GUID or a full backup job resource id.",
            { target: "jobId" },
          );
        }
        const job = await deps.jobs.getById(parsed.jobId);
        // A full id names its vault: the GUID alone does not make it this job (jobs of two vaults may share
        // nothing but a GUID someone copied), so a different vault is not found rather than another job.
        const otherVault = parsed.vaultId !== undefined && job?.vaultId.toLowerCase() !== parsed.vaultId;
        if (!job || otherVault || !inScope(job.serverId.split("/")[2] ?? "")) {
          throw new ApiError(404, "JobNotFound", `Job ${parsed.jobId} is not in the backup history.`, {
            target: parsed.jobId,
            fix: "Jobs appear within one poll cycle of starting; check the id or list jobs with GET /api/jobs.",
          });
        }
        return jsonResponse(200, jobView(job), requestId);
      }),

    listJobs: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const q = parseQuery(request, {
          server: queryParameters.serverId(),
          status: queryParameters.oneOf([
            "InProgress",
            "Completed",
            "CompletedWithWarnings",
            "Failed",
            "Cancelled",
            "Canceled",
            "Unknown",
          ] as const),
          since: queryParameters.dateTime(),
          until: queryParameters.dateTime(),
          top: queryParameters.integer(1, 1000),
          continuationToken: queryParameters.continuationToken(),
        });
        const server = q.server;
        if (q.since && q.until && q.since.getTime() >= q.until.getTime()) {
          throw new ApiError(
            400,
            "InvalidQueryParameter",
            'Query parameter "since" must be earlier than "until".',
            { target: "since" },
          );
        }
        if (server && !inScope(server.subscriptionId)) {
          throw new ApiError(
            403,
            "OutOfScope",
            `Subscription ${server.subscriptionId} is not in this app's scope.`,
            { target: "server" },
          );
        }
        const page = await deps.jobs.listPage({
          ...(server ? { serverId: server.resourceId } : {}),
          ...(q.status ? { status: q.status } : {}),
          ...(q.since ? { since: q.since } : {}),
          ...(q.until ? { until: q.until } : {}),
          maxPageSize: q.top ?? 50,
          ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
        });
        const value = page.items.filter((j) => inScope(j.serverId.split("/")[2] ?? "")).map(jobView);
        return pagedResponse(request, value, page.continuationToken, requestId);
      }),

    listServers: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const q = parseQuery(request, {
          subscriptionId: queryParameters.string(GUID_REGEX, "a subscription GUID", 36),
          state: queryParameters.oneOf(ProtectionStates),
          top: queryParameters.integer(1, 1000),
          continuationToken: queryParameters.continuationToken(),
        });
        const page = await serverPages.listPage({
          ...(q.subscriptionId ? { subscriptionId: q.subscriptionId } : {}),
          ...(q.state ? { state: q.state } : {}),
          maxPageSize: q.top ?? 1000,
          ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
        });
        const value = page.items.filter((s) => inScope(s.subscriptionId)).map((s) => serverView(s));
        return pagedResponse(request, value, page.continuationToken, requestId);
      }),

    getServer: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const ref = serverRefFromParams(request.params);
        parseQuery(request, {});
        if (!inScope(ref.subscriptionId)) {
          throw new ApiError(
            403,
            "OutOfScope",
            `Subscription ${ref.subscriptionId} is not in this app's scope.`,
            { target: formatServerId(ref) },
          );
        }
        const server = await deps.servers.get(formatServerId(ref));
        if (!server) {
          throw new ApiError(404, "ServerNotFound", `Server ${ref.serverName} is not known to this app.`, {
            target: formatServerId(ref),
            fix: "Tag the server with backup=<policy>; it appears after the next event or sweep.",
          });
        }
        const latest = await deps.jobs.latest(server.resourceId);
        return jsonResponse(200, serverView(server, latest), requestId);
      }),
  };
}
