import type { Principal } from "../auth/tokens.js";
import { ConflictError, TransientError, isRestError, isTransientStatus } from "../errors.js";
import { ApiError } from "../http/errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { observeJob } from "../jobs/mapping.js";
import {
  DEFAULT_CLAIM_STALE_AFTER_IN_MS,
  type ActiveJobRecord,
  type ActiveJobStore,
} from "../store/activeJobs.js";
import { isTerminalJobStatus } from "../domain/jobStatuses.js";
import { jobKeys, type JobOrigin, type JobRecord, type JobStore } from "../store/jobs.js";
import type { ServerRecord, ServerStore } from "../store/servers.js";
import { formatServerId, type ServerRef as DomainServerRef } from "../domain/serverId.js";
import type { BackupGateway } from "./gateway.js";
import { conflictOf, forcedWarning, readWeek, WeeklyBackupLimitError } from "./weeklyLimit.js";
import type { OperationOptions } from "../util/options.js";

/** The server a backup request names, as the API's path gives it. */
export type ServerRef = Omit<DomainServerRef, "resourceId">;

export interface StartBackupRequest {
  retentionTag?: string;
  reason?: string;
  origin: Extract<JobOrigin, "api" | "schedule">;
  requestedBy?: Pick<Principal, "id">;
  schedule?: string;
  /** Start even when this week already has (or is due) its one vaulted backup; the answer then warns. */
  force?: boolean;
}

/** The job recorded for a started backup, and what a forced start warns about. */
export type StartedBackup = JobRecord & { warning?: string };

export interface BackupServiceDeps {
  servers: Pick<ServerStore, "get">;
  jobs: JobStore;
  activeJobs: ActiveJobStore;
  gateway: BackupGateway;
  /** Subscriptions in scope; empty means all. */
  scopes: readonly string[];
  /** A start claim older than this is a dead starter's and is taken over; see {@link startClaimStaleAfterInMs}. */
  startClaimStaleAfterInMs?: number;
  now?: () => Date;
  logger?: Logger;
}

export interface BackupService {
  /**
   * Starts an on-demand backup once every check passed, records the job and follows it. Throws
   * ApiError 403 (out of scope), 409 NotProtected / BackupAlreadyRunning, 409 WeeklyBackupLimit
   * ({@link WeeklyBackupLimitError}, unless `force`), 502 when Azure refuses.
   */
  start(ref: ServerRef, request: StartBackupRequest, options?: OperationOptions): Promise<StartedBackup>;
}

const FIX_BY_STATE: Partial<Record<string, string>> = {
  OptedOut: "Set the server's backup tag to a policy value (for example backup=weekly) to protect it.",
  UnknownPolicyTag: "Use a backup tag value listed in PGFLEX_POLICY_MAP, or add the value to it.",
  NoVaultForRegion:
    "Add a Backup vault for the server's region to PGFLEX_VAULT_MAP or tag one with the vault marker tag.",
  Deleted: "The server was deleted; nothing to back up.",
};

export function notProtectedFix(server: ServerRecord | undefined): string {
  if (!server)
    return "Tag the server with backup=<policy> and wait until GET /api/servers/... shows state Protected.";
  return (
    server.fix ??
    FIX_BY_STATE[server.state] ??
    "Wait until the server's protection state is Protected, then retry."
  );
}

/**
 * How long a start claim stands: 10 minutes in Azure. Against an emulator `timeScale` times faster, a host
 * killed mid-start must not keep the server refused for 10 real minutes (hours of emulated time), yet a live
 * start's own Storage and ARM round trips do not speed up, so the claim stands at least a real minute.
 */
export function startClaimStaleAfterInMs(timeScale = 1): number {
  if (timeScale <= 1) return DEFAULT_CLAIM_STALE_AFTER_IN_MS;
  return Math.max(60_000, Math.round(DEFAULT_CLAIM_STALE_AFTER_IN_MS / timeScale));
}

export function createBackupService(deps: BackupServiceDeps): BackupService {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;
  return {
    async start(ref, request, options = {}) {
      const serverId = formatServerId(ref);
      if (deps.scopes.length && !deps.scopes.includes(ref.subscriptionId.toLowerCase())) {
        throw new ApiError(
          403,
          "OutOfScope",
          `Subscription ${ref.subscriptionId} is not in this app's scope.`,
          {
            target: serverId,
            fix: "Add the subscription to PGFLEX_SCOPES, or ask the team that owns that scope.",
          },
        );
      }
      const server = await deps.servers.get(serverId, options);
      if (!server || server.state !== "Protected" || !server.vaultId || !server.instanceName) {
        const state = server?.state ?? "NotTracked";
        throw new ApiError(
          409,
          "NotProtected",
          `Server ${ref.serverName} is not protected (state: ${state}).`,
          {
            target: serverId,
            fix: notProtectedFix(server),
          },
        );
      }
      await refuseIfRunning(serverId, server.vaultId, ref, options);
      // One vaulted backup a week: refused unless forced, and a forced start says what it will cost.
      const conflict = conflictOf(await readWeek(deps.jobs, serverId, now(), options), ref.serverName);
      if (conflict && !request.force) throw new WeeklyBackupLimitError(conflict, serverId);

      // One start per server at a time: a concurrent request sees the claim and gets the same 409.
      const claimOptions = {
        ...options,
        ...(deps.startClaimStaleAfterInMs ? { staleAfterInMs: deps.startClaimStaleAfterInMs } : {}),
      };
      if (!(await deps.activeJobs.claimServer(server.vaultId, serverId, now(), claimOptions))) {
        throw new ApiError(
          409,
          "BackupAlreadyRunning",
          `A backup of ${ref.serverName} is already being started.`,
          {
            target: serverId,
            fix: "Retry in a minute; GET /api/servers/... shows the running job once it is recorded.",
          },
        );
      }
      try {
        const started = await startClaimed(
          { ...server, vaultId: server.vaultId, instanceName: server.instanceName },
          serverId,
          ref,
          request,
          options,
        );
        if (!conflict) return started;
        const warning = forcedWarning(conflict);
        logger.warn(`${serverId}: ${warning}`);
        return { ...started, warning };
      } finally {
        await deps.activeJobs.releaseServer(server.vaultId, serverId).catch((e: unknown) => {
          logger.warn(`Could not release the start claim of ${serverId}; it expires by itself: ${String(e)}`);
        });
      }
    },
  };

  /** 409 BackupAlreadyRunning naming the job when the server has one running. */
  async function refuseIfRunning(
    serverId: string,
    vaultId: string,
    ref: ServerRef,
    options: OperationOptions,
  ): Promise<void> {
    let running: ActiveJobRecord | undefined;
    for (const row of await deps.activeJobs.listForServer(serverId, { vaultId, ...options })) {
      // The poller stops following a job only after its follow-up: a job already recorded as ended is not running.
      const job = await deps.jobs.getById(row.jobId, options);
      if (job && isTerminalJobStatus(job.status)) continue;
      running = row;
      break;
    }
    if (running) {
      throw new ApiError(
        409,
        "BackupAlreadyRunning",
        `A backup of ${ref.serverName} is already running: job ${running.jobId}.`,
        {
          target: running.jobId,
          fix: `Follow it with GET /api/jobs/${running.jobId} and retry when it ends.`,
        },
      );
    }
  }

  async function startClaimed(
    server: ServerRecord & { vaultId: string; instanceName: string },
    serverId: string,
    ref: ServerRef,
    request: StartBackupRequest,
    options: OperationOptions,
  ): Promise<JobRecord> {
    // Re-check under the claim: a job may have been recorded between the first check and the claim.
    await refuseIfRunning(serverId, server.vaultId, ref, options);
    let started: { jobId: string; jobResourceId?: string };
    try {
      started = await deps.gateway.startAdhocBackup(
        {
          vaultId: server.vaultId,
          instanceName: server.instanceName,
          ...(server.policyName ? { policyName: server.policyName } : {}),
        },
        {
          ...(request.retentionTag ? { retentionTag: request.retentionTag } : {}),
          abortSignal: options.abortSignal,
        },
      );
    } catch (e) {
      throw azureStartError(e, ref, serverId);
    }

    // The job's own start time fixes its history row key, so the poller finds the same row later.
    const at = now();
    const job = await deps.gateway.getJob(server.vaultId, started.jobId, options).catch((e: unknown) => {
      logger.warn(`Job ${started.jobId} could not be read right after it started: ${String(e)}`);
      return undefined;
    });
    const observed = job ? observeJob(job, server.vaultId) : undefined;
    const record: JobRecord = {
      jobId: started.jobId.toLowerCase(),
      serverId,
      serverName: server.serverName,
      vaultId: server.vaultId.toLowerCase(),
      instanceName: server.instanceName,
      status: "InProgress",
      startTime: at.toISOString(),
      ...(server.policyName ? { policyName: server.policyName } : {}),
      ...(started.jobResourceId ? { jobResourceId: started.jobResourceId } : {}),
      ...observed,
      origin: request.origin,
      ...(request.retentionTag ? { retentionTag: request.retentionTag } : {}),
      ...(request.reason ? { reason: request.reason } : {}),
      ...(request.requestedBy ? { requestedBy: request.requestedBy.id } : {}),
      ...(request.schedule ? { schedule: request.schedule } : {}),
      updatedAt: at.toISOString(),
    };
    const saved = await recordStarted(deps, record);
    await deps.activeJobs.upsertAll(
      [
        {
          vaultId: saved.vaultId,
          jobId: saved.jobId,
          serverId,
          startTime: saved.startTime,
          status: saved.status,
          origin: saved.origin,
        },
      ],
      options,
    );
    logger.info(`Started ${request.origin} backup of ${serverId}: job ${saved.jobId}.`);
    return saved;
  }
}

/** Creates the row; when a poller recorded the job first, adds what only we know to its row. */
async function recordStarted(deps: BackupServiceDeps, record: JobRecord): Promise<JobRecord> {
  for (let attempt = 0; ; attempt++) {
    const existing = (await deps.jobs.getById(record.jobId)) ?? (await deps.jobs.get(jobKeys(record)));
    const next: JobRecord = existing
      ? {
          ...existing,
          origin: record.origin,
          ...(record.reason ? { reason: record.reason } : {}),
          ...(record.requestedBy ? { requestedBy: record.requestedBy } : {}),
          ...(record.schedule ? { schedule: record.schedule } : {}),
          ...(record.retentionTag ? { retentionTag: record.retentionTag } : {}),
        }
      : record;
    try {
      const [saved] = await deps.jobs.saveAll([next]);
      return saved ?? next;
    } catch (e) {
      if (!(e instanceof ConflictError) || attempt >= 4) throw e;
    }
  }
}

function azureStartError(e: unknown, ref: ServerRef, serverId: string): Error {
  if (!isRestError(e)) return e instanceof Error ? e : new Error(String(e));
  if (isTransientStatus(e.statusCode)) {
    return new TransientError(
      `Azure did not accept the backup of ${ref.serverName} yet (HTTP ${e.statusCode ?? "no response"}).`,
      undefined,
      { cause: e },
    );
  }
  if (e.statusCode === 409 || /InProgress|AlreadyInProgress|Running/i.test(e.code ?? "")) {
    return new ApiError(
      409,
      "BackupAlreadyRunning",
      `Azure reports a backup of ${ref.serverName} already running (${e.code ?? "Conflict"}).`,
      {
        target: serverId,
        fix: "Retry when the running backup ends.",
      },
    );
  }
  return new ApiError(
    502,
    "AzureRejectedBackup",
    `Azure refused the backup of ${ref.serverName}: ${e.code ?? `HTTP ${e.statusCode}`}: ${e.message}`,
    {
      target: serverId,
      fix: "Check the backup instance in the Backup vault (protection status and errors), then retry.",
    },
  );
}
