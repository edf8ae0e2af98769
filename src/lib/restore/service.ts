/**
 * Restore as files: pick the recovery point, check the target before spending a job (allow-list, the
 * account's settings, the vault identity's role), validate, restore, and follow the Restore job to its end,
 * then record the files it wrote and the commands that rebuild the server from them.
 */
import { ConflictError, isRestError, isTransientStatus, TransientError } from "../errors.js";
import { ApiError } from "../http/errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { RecoveryPointInfo, RestoreOperations, RestoreTarget } from "../azure/restoreOperations.js";
import type { RolesClient } from "../azure/roles.js";
import { roleGuidOf, scopeCovers } from "../azure/roles.js";
import { parseStorageTargetId, type StorageOperations, type StorageTargetId } from "../azure/storage.js";
import { formatServerId, type ServerRef } from "../domain/serverId.js";
import { isSuccessJobStatus, isTerminalJobStatus } from "../domain/jobStatuses.js";
import type { ServerRecord, ServerStore } from "../store/servers.js";
import {
  DEFAULT_RESTORE_CLAIM_STALE_AFTER_IN_MS,
  endedRestoreStatuses,
  type RestoreRecord,
  type RestoreStore,
} from "../store/restores.js";
import type { OperationOptions } from "../util/options.js";
import { decodePageToken, encodePageToken, InvalidContinuationTokenError } from "../util/pageToken.js";
import { rebuildCommands, restoredFiles } from "./files.js";
import {
  accountSettingsFix,
  allowListFix,
  containerIdFix,
  grantBlobRoleCommand,
  STORAGE_BLOB_DATA_CONTRIBUTOR,
} from "./guidance.js";
import { Metrics, secondsBetween, telemetry } from "../telemetry/index.js";

export type RestoreServerRef = Omit<ServerRef, "resourceId">;

export interface StartRestoreRequest {
  /** The container's ARM id (`…/storageAccounts/{a}/blobServices/default/containers/{c}`). */
  targetContainerId: string;
  /** A recovery point id; with neither this nor `pointInTime`, the latest point. */
  recoveryPointId?: string;
  /** The newest recovery point at or before this time. */
  pointInTime?: Date;
  requestedBy?: string;
}

export interface RecoveryPointsPage {
  items: RecoveryPointInfo[];
  continuationToken?: string;
}

export interface VaultReader {
  getVault(
    vaultId: string,
    options?: OperationOptions,
  ): Promise<{ location: string; principalId?: string } | undefined>;
}

export interface RestoreServiceDeps {
  servers: Pick<ServerStore, "get">;
  restores: RestoreStore;
  operations: RestoreOperations;
  storage: StorageOperations;
  roles: RolesClient;
  vaults: VaultReader;
  /** PGFLEX_RESTORE_TARGETS: container or account ids a restore may write to. */
  allowedTargets: readonly string[];
  /** PGFLEX_AUTO_GRANT_ROLES: grant the vault identity its role on the container when missing. */
  autoGrantRoles: boolean;
  /** Subscriptions in scope; empty means all. */
  scopes: readonly string[];
  /** A claim whose start was never confirmed is taken over after this long (default 15 minutes). */
  claimStaleAfterInMs?: number;
  /**
   * A restore whose start Azure did not confirm, and whose job the vault still does not list after this long,
   * is sent again (default 2 minutes; see {@link unconfirmedRestoreRetryAfterInMs}).
   */
  unconfirmedRetryAfterInMs?: number;
  now?: () => Date;
  logger?: Logger;
}

export interface RestoreService {
  /** The server's recovery points, newest first, a page at a time. */
  listRecoveryPoints(
    ref: RestoreServerRef,
    options?: OperationOptions & { top?: number; continuationToken?: string },
  ): Promise<RecoveryPointsPage>;
  /**
   * Checks everything, then starts the restore and records it. Throws ApiError naming the fix when a check
   * fails (no job is started), and 409 RestoreAlreadyRunning naming the running restore and its job.
   */
  start(
    ref: RestoreServerRef,
    request: StartRestoreRequest,
    options?: OperationOptions,
  ): Promise<RestoreRecord>;
  /** The restore, brought up to date with its job when it is still running. */
  get(restoreId: string, options?: OperationOptions): Promise<RestoreRecord | undefined>;
  /** Follows every running restore once; the number that ended. */
  trackActive(options?: OperationOptions): Promise<number>;
}

const UNCONFIRMED = "RestoreStartUnconfirmed";
const DEFAULT_UNCONFIRMED_RETRY_AFTER_IN_MS = 2 * 60_000;
/** Clock skew allowed between this app and Azure when matching a job's start time. */
const JOB_SKEW_IN_MS = 5 * 60_000;

/** How long an unconfirmed restore start waits for its job before it is sent again, on a scaled clock. */
export function unconfirmedRestoreRetryAfterInMs(timeScale = 1): number {
  return timeScale <= 1
    ? DEFAULT_UNCONFIRMED_RETRY_AFTER_IN_MS
    : Math.round(DEFAULT_UNCONFIRMED_RETRY_AFTER_IN_MS / timeScale);
}

const MAX_TIME = 9_999_999_999_999;
const pointKey = (p: RecoveryPointInfo): string =>
  `${String(MAX_TIME - Date.parse(p.time)).padStart(13, "0")}-${p.id.replace(/[^A-Za-z0-9_-]/g, "")}`;
const POINTS_PK = "recoveryPoints";

export function createRestoreService(deps: RestoreServiceDeps): RestoreService {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;
  const claimStaleAfterInMs = deps.claimStaleAfterInMs ?? DEFAULT_RESTORE_CLAIM_STALE_AFTER_IN_MS;
  const retryAfterInMs = deps.unconfirmedRetryAfterInMs ?? DEFAULT_UNCONFIRMED_RETRY_AFTER_IN_MS;

  function checkScope(ref: RestoreServerRef): void {
    if (deps.scopes.length && !deps.scopes.includes(ref.subscriptionId.toLowerCase())) {
      throw new ApiError(
        403,
        "OutOfScope",
        `Subscription ${ref.subscriptionId} is not in this app's scope.`,
        {
          target: formatServerId(ref),
          fix: "Add the subscription to PGFLEX_SCOPES, or ask the team that owns that scope.",
        },
      );
    }
  }

  async function protectedServer(
    ref: RestoreServerRef,
    options: OperationOptions,
  ): Promise<ServerRecord & { vaultId: string; instanceName: string }> {
    checkScope(ref);
    const serverId = formatServerId(ref);
    const server = await deps.servers.get(serverId, options);
    if (!server?.vaultId || !server.instanceName) {
      throw new ApiError(
        409,
        "NotProtected",
        `Server ${ref.serverName} has no backup instance (state: ${server?.state ?? "NotTracked"}), so it has no recovery points.`,
        {
          target: serverId,
          fix: "Tag the server with backup=<policy> and wait until GET /api/servers/... shows state Protected and a first backup completed.",
        },
      );
    }
    return { ...server, vaultId: server.vaultId, instanceName: server.instanceName };
  }

  async function allPoints(
    server: { vaultId: string; instanceName: string },
    options: OperationOptions,
  ): Promise<RecoveryPointInfo[]> {
    const points: RecoveryPointInfo[] = [];
    for await (const p of deps.operations.listRecoveryPoints(server, options)) {
      if (!Number.isNaN(Date.parse(p.time))) points.push(p);
    }
    return points.sort((a, b) => pointKey(a).localeCompare(pointKey(b)));
  }

  async function pickPoint(
    server: ServerRecord & { vaultId: string; instanceName: string },
    request: StartRestoreRequest,
    options: OperationOptions,
  ): Promise<RecoveryPointInfo> {
    const listHint = `List them with GET /api/servers/${server.subscriptionId}/${server.resourceGroup}/${server.serverName}/recoveryPoints (CLI: recovery-points ${server.serverName}).`;
    if (request.recoveryPointId) {
      const point = await deps.operations.getRecoveryPoint(server, request.recoveryPointId, options);
      if (!point) {
        throw new ApiError(
          404,
          "RecoveryPointNotFound",
          `Server ${server.serverName} has no recovery point ${request.recoveryPointId}.`,
          { target: "recoveryPointId", fix: `Use one of the server's recovery points. ${listHint}` },
        );
      }
      return point;
    }
    const points = await allPoints(server, options);
    if (points.length === 0) {
      throw new ApiError(409, "NoRecoveryPoints", `Server ${server.serverName} has no recovery point yet.`, {
        target: formatServerId(server),
        fix: "Wait for its first backup to complete (or start one with POST …/backups), then retry.",
      });
    }
    const at = request.pointInTime;
    if (!at) return points[0] as RecoveryPointInfo;
    const point = points.find((p) => Date.parse(p.time) <= at.getTime());
    if (!point) {
      const first = points[points.length - 1] as RecoveryPointInfo;
      throw new ApiError(
        400,
        "NoRecoveryPointBefore",
        `Server ${server.serverName} has no recovery point at or before ${at.toISOString()}; its first is ${first.time}.`,
        {
          target: "pointInTime",
          fix: `Give a time at or after ${first.time}, or omit it for the latest point.`,
        },
      );
    }
    return point;
  }

  function parseTarget(
    containerId: string,
  ): StorageTargetId & { containerId: string; containerName: string } {
    const target = parseStorageTargetId(containerId);
    if (!target) {
      throw new ApiError(
        400,
        "InvalidTargetContainerId",
        `"${containerId}" is not a blob container resource id.`,
        { target: "targetContainerId", fix: containerIdFix() },
      );
    }
    if (target.kind === "account" || !target.containerId || !target.containerName) {
      throw new ApiError(
        400,
        "TargetIsAccount",
        `"${containerId}" names a storage account; a restore needs one of its blob containers.`,
        { target: "targetContainerId", fix: containerIdFix(target.accountId) },
      );
    }
    return { ...target, containerId: target.containerId, containerName: target.containerName };
  }

  function checkAllowed(target: StorageTargetId & { containerId: string }): void {
    const allowed = deps.allowedTargets.some((entry) => {
      const e = entry.trim().replace(/\/+$/, "").toLowerCase();
      return e === target.containerId.toLowerCase() || e === target.accountId.toLowerCase();
    });
    if (!allowed) {
      throw new ApiError(
        403,
        "TargetNotAllowed",
        `Container ${target.containerId} is not an allowed restore target: a restore copies a whole server's data.`,
        { target: "targetContainerId", fix: allowListFix(target.containerId, deps.allowedTargets) },
      );
    }
  }

  async function checkAccount(
    target: StorageTargetId & { containerName: string },
    options: OperationOptions,
  ): Promise<string> {
    const account = await deps.storage.getAccount(target.accountId, options);
    if (!account) {
      throw new ApiError(
        404,
        "TargetAccountNotFound",
        `Storage account ${target.accountName} was not found.`,
        {
          target: "targetContainerId",
          fix: "Check the container id (subscription, resource group and account name), or create the account.",
        },
      );
    }
    const crossTenant = account.allowCrossTenantReplication === true;
    const publicAccess = (account.publicNetworkAccess ?? "Enabled").toLowerCase() === "enabled";
    if (!crossTenant || !publicAccess) {
      const wrong = [
        ...(crossTenant ? [] : ["allowCrossTenantReplication is not true"]),
        ...(publicAccess ? [] : [`publicNetworkAccess is ${account.publicNetworkAccess ?? "unset"}`]),
      ];
      throw new ApiError(
        409,
        "TargetAccountSettings",
        `Azure Backup cannot write to storage account ${target.accountName}: ${wrong.join(" and ")}.`,
        { target: target.accountId, fix: accountSettingsFix(target) },
      );
    }
    if (!account.blobEndpoint) {
      throw new ApiError(
        409,
        "TargetAccountSettings",
        `Storage account ${target.accountName} has no blob endpoint.`,
        {
          target: target.accountId,
          fix: "Use a general-purpose v2 or BlobStorage account.",
        },
      );
    }
    return `${account.blobEndpoint}${target.containerName}`;
  }

  async function ensureRole(
    vaultName: string,
    principalId: string,
    containerId: string,
    options: OperationOptions,
  ): Promise<void> {
    for await (const a of deps.roles.listForPrincipal(containerId, principalId, options)) {
      const guid = a.roleDefinitionGuid || roleGuidOf(a.id);
      if (guid === STORAGE_BLOB_DATA_CONTRIBUTOR.id && scopeCovers(a.scope, containerId)) return;
    }
    const command = grantBlobRoleCommand(principalId, containerId);
    if (!deps.autoGrantRoles) {
      throw new ApiError(
        409,
        "VaultRoleMissing",
        `Backup vault ${vaultName}'s identity lacks ${STORAGE_BLOB_DATA_CONTRIBUTOR.name} on the container.`,
        { target: containerId, fix: `Run: ${command} (or set PGFLEX_AUTO_GRANT_ROLES=true), then retry.` },
      );
    }
    try {
      await deps.roles.createAssignment(containerId, STORAGE_BLOB_DATA_CONTRIBUTOR.id, principalId, options);
      logger.info(`Granted ${STORAGE_BLOB_DATA_CONTRIBUTOR.name} on ${containerId} to vault ${vaultName}.`);
    } catch (e) {
      if (!isRestError(e) || e.statusCode !== 403) throw e;
      throw new ApiError(
        409,
        "VaultRoleMissing",
        `Backup vault ${vaultName}'s identity lacks ${STORAGE_BLOB_DATA_CONTRIBUTOR.name} on the container, and this app may not grant it (${e.code ?? "403"}).`,
        { target: containerId, fix: `Run: ${command}, then retry.` },
      );
    }
  }

  /** Azure refused validate or restore: what it means for the user. */
  function refusal(
    e: unknown,
    step: "validateRestore" | "restore",
    target: RestoreTarget,
    principalId: string,
  ): Error {
    if (!isRestError(e)) return e instanceof Error ? e : new Error(String(e));
    if (isTransientStatus(e.statusCode)) {
      return new TransientError(
        `Azure did not answer the ${step} call (HTTP ${e.statusCode ?? "no response"}).`,
        undefined,
        {
          cause: e,
        },
      );
    }
    const code = e.code ?? `HTTP ${e.statusCode}`;
    const fix =
      code === "UserErrorContainerNotAccessible"
        ? `Give the vault's identity access (role assignments take a few minutes to apply): ${grantBlobRoleCommand(principalId, target.containerId)}; check the account allows cross-tenant replication and public network access.`
        : /targetResourceArmId/i.test(e.message)
          ? containerIdFix()
          : "Check the target container and the recovery point, then retry.";
    return new ApiError(
      409,
      "AzureRejectedRestore",
      `Azure refused the ${step} of the recovery point: ${code}: ${e.message}`,
      {
        target: target.containerId,
        fix,
      },
    );
  }

  /**
   * A restore whose start Azure did not confirm: adopt the job it started when the vault lists one; after
   * `retryAfterInMs` without one, the call never reached Azure, so send it again (the claim still holds the
   * server and point, so no other request races it). A refusal then ends the restore Failed, with the fix.
   */
  async function confirmStart(record: RestoreRecord, options: OperationOptions): Promise<RestoreRecord> {
    const instance = { vaultId: record.vaultId, instanceName: record.instanceName };
    const since = new Date(Date.parse(record.createdAt) - JOB_SKEW_IN_MS);
    const unconfirmed = ({ errorCode: _c, errorMessage: _m, ...rest }: RestoreRecord) => rest;
    const found = await deps.operations.findRestoreJob(instance, record.recoveryPointId, since, options);
    if (found) {
      logger.info(`Restore ${record.restoreId}: its unconfirmed start did start job ${found.jobId}.`);
      return deps.restores.update({ ...unconfirmed(record), status: "InProgress", ...found }, now(), options);
    }
    if (now().getTime() - Date.parse(record.createdAt) >= claimStaleAfterInMs) {
      // The claim may be another request's by now: sending it again could start a second job.
      return deps.restores.update(
        {
          ...record,
          status: "Failed",
          errorCode: "RestoreNeverStarted",
          errorMessage: `Azure never confirmed the restore, and the vault lists no Restore job of ${record.instanceName} from recovery point ${record.recoveryPointId}: ${record.errorMessage ?? "no answer"}. Start it again (POST …/restores).`,
        },
        now(),
        options,
      );
    }
    if (now().getTime() - Date.parse(record.updatedAt) < retryAfterInMs) return record;
    const vault = await deps.vaults.getVault(record.vaultId, options);
    const target: RestoreTarget = {
      recoveryPointId: record.recoveryPointId,
      containerId: record.targetContainerId,
      containerUrl: record.containerUrl,
      location: vault?.location ?? "",
    };
    try {
      await deps.operations.validateRestore(instance, target, options);
      const started = await deps.operations.startRestore(instance, target, options);
      logger.info(`Restore ${record.restoreId}: sent again, job ${started.jobId}.`);
      return deps.restores.update(
        { ...unconfirmed(record), status: "InProgress", ...started },
        now(),
        options,
      );
    } catch (e) {
      const error = refusal(e, "restore", target, vault?.principalId ?? "");
      if (error instanceof ApiError) {
        return deps.restores.update(
          { ...record, status: "Failed", errorCode: error.code, errorMessage: error.message },
          now(),
          options,
        );
      }
      // Still no answer: the next cycle looks for the job again before sending it once more.
      return deps.restores.update({ ...record, errorMessage: error.message }, now(), options);
    }
  }

  /** Brings one running restore up to date with its job; on success records the files and commands. */
  async function refresh(current: RestoreRecord, options: OperationOptions): Promise<RestoreRecord> {
    const record =
      current.status === "Starting" && !current.jobId && current.errorCode === UNCONFIRMED
        ? await confirmStart(current, options)
        : current;
    if (endedRestoreStatuses.includes(record.status) || !record.jobId) return record;
    const job = await deps.operations.getRestoreJob(record.vaultId, record.jobId, options);
    if (!job || !isTerminalJobStatus(job.status)) return record;
    const at = now();
    if (!isSuccessJobStatus(job.status)) {
      const error = job.errorDetails?.[0];
      return ended(
        await deps.restores.update(
          {
            ...record,
            status: "Failed",
            endTime: job.endTime ?? at.toISOString(),
            errorCode: error?.code ?? job.status,
            errorMessage: error?.message ?? `The restore job ended ${job.status}.`,
          },
          at,
          options,
        ),
      );
    }
    const blobs = [];
    for await (const b of deps.storage.listBlobs(record.containerUrl, options)) blobs.push(b);
    const since = new Date(job.startTime ?? record.createdAt);
    const files = restoredFiles(
      blobs,
      since < new Date(record.createdAt) ? since : new Date(record.createdAt),
    );
    const target = parseStorageTargetId(record.targetContainerId);
    const commands = rebuildCommands(files, {
      accountName: target?.accountName ?? "",
      containerName: target?.containerName ?? "",
    });
    return ended(
      await deps.restores.update(
        {
          ...record,
          status: "Completed",
          endTime: job.endTime ?? at.toISOString(),
          files,
          commands,
          ...(files.some((f) => f.kind === "database")
            ? {}
            : {
                errorCode: "NoDatabaseFiles",
                errorMessage: "The job completed but no database file was found in the container.",
              }),
        },
        at,
        options,
      ),
    );
  }

  /** `pgflex.restore.jobs` and `pgflex.restore.duration` for a restore this refresh ended (once: the update is ETag-guarded). */
  function ended(record: RestoreRecord): RestoreRecord {
    const outcome = record.status;
    telemetry().count(Metrics.restoreJobs.name, { outcome });
    const seconds = record.endTime ? secondsBetween(record.createdAt, record.endTime) : undefined;
    if (seconds !== undefined) telemetry().record(Metrics.restoreDuration.name, seconds, { outcome });
    return record;
  }

  return {
    async listRecoveryPoints(ref, options = {}) {
      const server = await protectedServer(ref, options);
      const points = await allPoints(server, options);
      const position = options.continuationToken ? decodePageToken(options.continuationToken) : undefined;
      if (position && position.partitionKey !== POINTS_PK) throw new InvalidContinuationTokenError();
      const after = position?.rowKey;
      const rest = after ? points.filter((p) => pointKey(p) > after) : points;
      const top = options.top ?? 100;
      const items = rest.slice(0, top);
      const last = items.at(-1);
      return rest.length > top && last
        ? { items, continuationToken: encodePageToken({ partitionKey: POINTS_PK, rowKey: pointKey(last) }) }
        : { items };
    },

    async start(ref, request, options = {}) {
      const server = await protectedServer(ref, options);
      const target = parseTarget(request.targetContainerId);
      checkAllowed(target);
      const point = await pickPoint(server, request, options);
      const containerUrl = await checkAccount(target, options);
      const vault = await deps.vaults.getVault(server.vaultId, options);
      if (!vault?.principalId) {
        throw new ApiError(
          409,
          "VaultIdentityMissing",
          `Backup vault ${server.vaultId} has no system-assigned identity.`,
          {
            target: server.vaultId,
            fix: `Enable it: az dataprotection backup-vault update --ids ${server.vaultId} --type SystemAssigned`,
          },
        );
      }
      const vaultName = server.vaultId.split("/").pop() ?? server.vaultId;
      await ensureRole(vaultName, vault.principalId, target.containerId, options);

      const claim = await deps.restores.claim(
        {
          serverId: formatServerId(ref),
          serverName: server.serverName,
          vaultId: server.vaultId,
          instanceName: server.instanceName,
          recoveryPointId: point.id,
          recoveryPointTime: point.time,
          targetContainerId: target.containerId,
          containerUrl,
          ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
        },
        now(),
        { ...options, staleAfterInMs: claimStaleAfterInMs },
      );
      if (!claim.created) {
        const running = claim.existing;
        throw new ApiError(
          409,
          "RestoreAlreadyRunning",
          `A restore of ${server.serverName} at recovery point ${point.id} is already running: restore ${running.restoreId}${running.jobId ? `, job ${running.jobId}` : ""}.`,
          {
            target: running.restoreId,
            fix: `Follow it with GET /api/restores/${running.restoreId} (CLI: restore … --wait); start another once it ends.`,
          },
        );
      }
      let record = claim.record;
      const restoreTarget: RestoreTarget = {
        recoveryPointId: point.id,
        containerId: target.containerId,
        containerUrl,
        location: vault.location,
      };
      const instance = { vaultId: server.vaultId, instanceName: server.instanceName };
      let sent = false;
      try {
        await deps.operations.validateRestore(instance, restoreTarget, options).catch((e: unknown) => {
          throw refusal(e, "validateRestore", restoreTarget, vault.principalId ?? "");
        });
        sent = true;
        const started = await deps.operations
          .startRestore(instance, restoreTarget, options)
          .catch((e: unknown) => {
            throw refusal(e, "restore", restoreTarget, vault.principalId ?? "");
          });
        record = await deps.restores.update(
          { ...record, status: "InProgress", jobId: started.jobId, jobResourceId: started.jobResourceId },
          now(),
          options,
        );
        return record;
      } catch (e) {
        if (record.status === "Starting" && sent && !(e instanceof ApiError)) {
          // The restore request may have reached Azure and started a job: keep the claim (a retry is refused
          // until it goes stale) rather than risk a second job; the record says what happened.
          await deps.restores
            .update({ ...record, errorCode: UNCONFIRMED, errorMessage: (e as Error).message }, now())
            .catch((err: unknown) =>
              logger.warn(`Could not note restore ${record.restoreId}: ${String(err)}`),
            );
          throw new ApiError(
            503,
            UNCONFIRMED,
            `Azure did not confirm the restore of ${server.serverName} (${(e as Error).message}); it may have started.`,
            {
              target: record.restoreId,
              fix: `Follow it with GET /api/restores/${record.restoreId}: the app adopts the job if Azure started one, and sends the restore again if Azure never received it (this server and recovery point are held meanwhile, up to ${Math.round(claimStaleAfterInMs / 60_000)} minutes).`,
            },
          );
        }
        if (record.status === "Starting") {
          const code = e instanceof ApiError ? e.code : "RestoreStartFailed";
          await deps.restores
            .update(
              { ...record, status: "Failed", errorCode: code, errorMessage: (e as Error).message },
              now(),
            )
            .catch((err: unknown) =>
              logger.warn(`Could not record restore ${record.restoreId} failed: ${String(err)}`),
            );
        }
        throw e;
      }
    },

    async get(restoreId, options = {}) {
      const record = await deps.restores.get(restoreId, options);
      if (!record) return undefined;
      try {
        return await refresh(record, options);
      } catch (e) {
        // The tracker (or another caller) brought it up to date first: its row is the answer.
        if (e instanceof ConflictError) return (await deps.restores.get(restoreId, options)) ?? record;
        logger.warn(`Restore ${restoreId} could not be brought up to date: ${String(e)}`);
        return record;
      }
    },

    async trackActive(options = {}) {
      let ended = 0;
      for (const record of await deps.restores.listActive(options)) {
        try {
          const next = await refresh(record, options);
          if (endedRestoreStatuses.includes(next.status)) ended++;
        } catch (e) {
          logger.warn(`Restore ${record.restoreId} could not be followed this time: ${String(e)}`);
        }
      }
      return ended;
    },
  };
}
