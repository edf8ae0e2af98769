import { ConflictError, ensureError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { ActiveJobRecord, ActiveJobStore } from "../store/activeJobs.js";
import type { CursorStore } from "../store/cursors.js";
import {
  UNKNOWN_JOB_STATUS,
  isKnownJobStatus,
  isTerminalJobStatus as isTerminalStatus,
} from "../domain/jobStatuses.js";
import { jobKeys, type JobOrigin, type JobRecord, type JobStore } from "../store/jobs.js";
import { mapWithConcurrency } from "../util/concurrency.js";
import { isServerBackupJob, observeJob, originOf } from "./mapping.js";
import { mergeJob } from "./merge.js";
import { recordFinishedJobs } from "./telemetry.js";
import type { JobsGateway } from "./model.js";
import type { OperationOptions } from "../util/options.js";
import type { BackupJob } from "../azure/backupOperations.js";

type Observed = NonNullable<ReturnType<typeof observeJob>>;

export interface JobPollerDeps {
  gateway: JobsGateway;
  jobs: JobStore;
  activeJobs: ActiveJobStore;
  cursors: CursorStore;
  /** Vaults to list besides those with followed jobs or a cursor (e.g. the vaults of protected servers). */
  knownVaults?: (options: OperationOptions) => Promise<readonly string[]>;
  /** Called once per vault and cycle with the jobs this poller moved to a final status (alerts, last backup). */
  onFinished?: (jobs: readonly JobRecord[]) => Promise<void>;
  now?: () => Date;
  logger?: Logger;
  /** Jobs that started this long before a vault's cursor are still examined (late listings). Default 15 min. */
  overlapInMs?: number;
  /**
   * How far back a vault's first listing reaches (no cursor yet): jobs older than the history retention
   * would only be purged again. Default: no limit.
   */
  maxLookBackInMs?: number;
  /** Vaults and partitions worked on at once. Default 8. */
  concurrency?: number;
}

export type PollOptions = OperationOptions;

export interface PollResult {
  vaults: number;
  /** Jobs seen in vault listings. */
  listed: number;
  /** Single-job reads: followed jobs missing from their vault's listing. */
  fetched: number;
  inserted: number;
  updated: number;
  finished: number;
  /** Writes that lost a race and were re-read and merged. */
  conflicts: number;
  failedVaults: string[];
}

export interface JobPoller {
  /** One cycle: list each vault once (all pages), fetch only followed jobs the listing missed, write changes. */
  pollOnce(options?: PollOptions): Promise<PollResult>;
}

interface Change {
  record: JobRecord;
  /** The status before this write (undefined for a new row). */
  previousStatus: string | undefined;
  /** Nothing to write: the row is already final (another poller finished it); only stop following. */
  noWrite?: boolean;
}

export function createJobPoller(deps: JobPollerDeps): JobPoller {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;
  const overlapInMs = deps.overlapInMs ?? 15 * 60_000;
  const concurrency = deps.concurrency ?? 8;

  async function existingRow(
    jobId: string,
    active: ActiveJobRecord | undefined,
    options: PollOptions,
  ): Promise<JobRecord | undefined> {
    if (active) {
      const row = await deps.jobs.get(
        jobKeys({ serverId: active.serverId, startTime: active.startTime, jobId }),
        options,
      );
      if (row) return row;
    }
    return deps.jobs.getById(jobId, options);
  }

  function plan(
    existing: JobRecord | undefined,
    observed: Observed,
    origin: JobOrigin,
    at: Date,
  ): Change | undefined {
    if (!existing)
      return { record: { ...observed, origin, updatedAt: at.toISOString() }, previousStatus: undefined };
    const merged = mergeJob(existing, observed, at);
    return merged ? { record: merged, previousStatus: existing.status } : undefined;
  }

  /**
   * Writes a vault's changes in one go (per-partition transactions in parallel); rows whose transaction
   * lost a race are re-read and merged one by one.
   */
  async function save(
    changes: Change[],
    observedById: Map<string, { observed: Observed; origin: JobOrigin }>,
    result: PollResult,
    options: PollOptions,
  ): Promise<Change[]> {
    const previous = new Map(changes.map((c) => [c.record.jobId, c.previousStatus]));
    const { saved, conflicted } = await deps.jobs.writeAll(
      changes.map((c) => c.record),
      { ...options, concurrency },
    );
    const out: Change[] = saved.map((record) => ({ record, previousStatus: previous.get(record.jobId) }));
    await mapWithConcurrency(conflicted, concurrency, async (lost) => {
      const source = observedById.get(lost.jobId);
      if (!source) return;
      for (let attempt = 0; ; attempt++) {
        result.conflicts++;
        const existing =
          (await deps.jobs.getById(lost.jobId, options)) ?? (await deps.jobs.get(jobKeys(lost), options));
        const next = plan(existing, source.observed, source.origin, now());
        if (!next) return;
        try {
          const [record] = await deps.jobs.saveAll([next.record], options);
          if (record) out.push({ record, previousStatus: next.previousStatus });
          return;
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= 4) throw err;
        }
      }
    });
    return out;
  }

  /**
   * What can matter in a vault's listing: jobs since the cursor (less the overlap) and since the oldest
   * followed job, no further back than the history keeps. Undefined: everything.
   */
  function listingSince(
    cursorValue: string | undefined,
    followed: Map<string, ActiveJobRecord>,
  ): Date | undefined {
    const threshold = cursorValue ? new Date(cursorValue).getTime() - overlapInMs : Number.NEGATIVE_INFINITY;
    const oldestFollowed = Math.min(...[...followed.values()].map((a) => new Date(a.startTime).getTime()));
    const lookBackLimit =
      deps.maxLookBackInMs === undefined ? Number.NEGATIVE_INFINITY : now().getTime() - deps.maxLookBackInMs;
    const since = Math.max(Math.min(threshold, oldestFollowed), lookBackLimit);
    return Number.isFinite(since) ? new Date(since) : undefined;
  }

  /**
   * One vault's pass. `listed`: its recent jobs already read for every vault at once (Resource Graph);
   * otherwise its job list is read here (every page: the list takes no filter, jobs before the cutoff are
   * dropped as they come).
   */
  async function pollVault(
    vaultId: string,
    followed: Map<string, ActiveJobRecord>,
    result: PollResult,
    options: PollOptions,
    listed?: readonly BackupJob[],
  ): Promise<void> {
    const cursor = await deps.cursors.get("jobs", vaultId, options);
    const threshold = cursor ? new Date(cursor.value).getTime() - overlapInMs : Number.NEGATIVE_INFINITY;
    let newest = cursor ? new Date(cursor.value).getTime() : Number.NEGATIVE_INFINITY;
    const observedById = new Map<string, { observed: Observed; origin: JobOrigin }>();

    const since = listingSince(cursor?.value, followed);
    const jobs =
      listed ?? deps.gateway.listJobs(vaultId, since ? { ...options, startedSince: since } : options);
    for await (const job of jobs) {
      result.listed++;
      if (!isServerBackupJob(job)) continue;
      const observed = observeJob(job, vaultId);
      if (!observed) continue;
      const started = new Date(observed.startTime).getTime();
      newest = Math.max(newest, started);
      if (followed.has(observed.jobId) || started >= threshold) {
        observedById.set(observed.jobId, {
          observed,
          origin: followed.get(observed.jobId)?.origin ?? originOf(job),
        });
      }
    }
    // A followed job the listing did not show (paging moved on, eventual consistency): read it alone.
    const gone: ActiveJobRecord[] = [];
    for (const active of followed.values()) {
      if (observedById.has(active.jobId)) continue;
      result.fetched++;
      const job = await deps.gateway.getJob(vaultId, active.jobId, options);
      const observed = job && isServerBackupJob(job) ? observeJob(job, vaultId) : undefined;
      if (observed) observedById.set(observed.jobId, { observed, origin: active.origin });
      else gone.push(active);
    }
    if (gone.length) {
      logger.warn(
        `Vault ${vaultId}: ${gone.length} followed job(s) no longer exist; recorded as ${UNKNOWN_JOB_STATUS}.`,
      );
      // Recorded with a final, explained status (read and merged below, never blindly: another poller may
      // have seen it finish), so no history row stays InProgress forever.
      for (const active of gone)
        observedById.set(active.jobId, { observed: vanished(active, vaultId), origin: active.origin });
    }

    // Decide what to write, reading as little as possible:
    // - a followed job whose status did not move costs nothing;
    // - a followed job that ended is merged blindly: final data is the same whoever writes it;
    // - a job newer than the cursor that nobody follows is new: created (a lost race falls back to merging);
    // - anything else (overlap window, a non-final status change) is read and merged with its ETag.
    const at = now();
    const cursorTime = cursor ? new Date(cursor.value).getTime() : Number.NEGATIVE_INFINITY;
    const changes: Change[] = [];
    await mapWithConcurrency([...observedById.values()], concurrency, async ({ observed, origin }) => {
      const active = followed.get(observed.jobId);
      if (active && active.status === observed.status && !isTerminalStatus(observed.status)) return;
      if (active && isTerminalStatus(observed.status) && observed.status !== UNKNOWN_JOB_STATUS) {
        const { retentionTag: _kept, ...final } = observed;
        changes.push({
          record: {
            ...final,
            serverId: active.serverId,
            startTime: active.startTime,
            origin: active.origin,
            updatedAt: at.toISOString(),
            etag: "*",
          },
          previousStatus: active.status,
        });
        return;
      }
      if (!active && new Date(observed.startTime).getTime() > cursorTime) {
        changes.push({
          record: { ...observed, origin, updatedAt: at.toISOString() },
          previousStatus: undefined,
        });
        return;
      }
      const existing = await existingRow(observed.jobId, active, options);
      const change = plan(existing, observed, origin, at);
      if (change) changes.push(change);
      else if (existing && isTerminalStatus(existing.status) && active) {
        // Already finished by another poller: stop following.
        changes.push({ record: existing, previousStatus: existing.status, noWrite: true });
      }
    });

    const saved = await save(
      changes.filter((c) => !c.noWrite),
      observedById,
      result,
      options,
    );
    for (const c of saved) {
      if (c.previousStatus === undefined) result.inserted++;
      else result.updated++;
    }
    // A status this app does not know is kept verbatim and the job stays followed; said once per job and status
    // (a followed job whose status did not move is not written again, so not logged again).
    for (const c of saved) {
      const { status, jobId } = c.record;
      if (!isKnownJobStatus(status) && status !== UNKNOWN_JOB_STATUS && c.previousStatus !== status) {
        logger.warn(
          `Backup job ${jobId} in vault ${vaultId} reports status '${status}', which this app does not know; it is stored and shown as is and the job stays followed until it ends. Report the status so it can be classified.`,
        );
      }
    }

    // Follow what is still running; stop following what ended (including rows another poller finished).
    const stillRunning: ActiveJobRecord[] = [];
    const ended: ActiveJobRecord[] = [];
    const finished: JobRecord[] = [];
    // Jobs whose follow-up (server row, alert) is due: those that finished now, and those still followed, whose
    // follow-up failed in an earlier cycle or another poller's did (it is idempotent, so repeating it is safe).
    const followUp: JobRecord[] = [];
    const savedById = new Map(saved.map((c) => [c.record.jobId, c]));
    for (const change of changes) {
      const savedChange = savedById.get(change.record.jobId);
      const record = savedChange?.record ?? change.record;
      const row: ActiveJobRecord = {
        vaultId,
        jobId: record.jobId,
        serverId: record.serverId,
        startTime: record.startTime,
        status: record.status,
        origin: record.origin,
      };
      if (isTerminalStatus(record.status)) {
        if (followed.has(record.jobId)) ended.push(row);
        // A vanished job has no outcome to act on (no last backup, no failure alert).
        const finishedNow =
          savedChange !== undefined &&
          (savedChange.previousStatus === undefined || !isTerminalStatus(savedChange.previousStatus));
        if (record.status !== UNKNOWN_JOB_STATUS) {
          if (finishedNow) finished.push(record);
          if (finishedNow || followed.has(record.jobId)) followUp.push(record);
        }
      } else if (!followed.has(record.jobId) || followed.get(record.jobId)?.status !== record.status) {
        stillRunning.push(row);
      }
    }
    if (stillRunning.length) await deps.activeJobs.upsertAll(stillRunning, options);
    result.finished += finished.length;
    recordFinishedJobs(finished);
    let followedUp = true;
    if (followUp.length) {
      try {
        await deps.onFinished?.(followUp);
      } catch (e) {
        followedUp = false;
        logger.warn(
          `Follow-up of ${followUp.length} finished job(s) failed: ${ensureError(e).message}. They stay followed and the next poll cycle tries again.`,
        );
      }
    }
    // Stop following only once the follow-up is done, so a failed one is not lost.
    if (ended.length && followedUp) await deps.activeJobs.deleteAll(ended, options);

    if (Number.isFinite(newest) && (!cursor || newest > new Date(cursor.value).getTime())) {
      await advanceCursor(vaultId, new Date(newest).toISOString(), options);
    }
  }

  /**
   * Every vault's recent jobs in one read when the gateway offers it (Resource Graph); undefined when it does
   * not or the read failed, and each vault lists its own jobs.
   */
  async function listRecent(
    vaults: readonly string[],
    cursorValues: ReadonlyMap<string, string>,
    followedByVault: ReadonlyMap<string, Map<string, ActiveJobRecord>>,
    options: PollOptions,
  ): Promise<Map<string, BackupJob[]> | undefined> {
    if (!deps.gateway.listRecentJobs || !vaults.length) return undefined;
    try {
      return await deps.gateway.listRecentJobs(
        vaults.map((vaultId) => {
          const since = listingSince(cursorValues.get(vaultId), followedByVault.get(vaultId) ?? new Map());
          return since ? { vaultId, startedSince: since } : { vaultId };
        }),
        options,
      );
    } catch (e) {
      options.abortSignal?.throwIfAborted();
      logger.warn(
        "Reading recent backup jobs through Resource Graph failed; each vault's job list is read instead " +
          "(one request per page of every vault's history). Check that the app's identity has Reader on the " +
          `vaults' subscriptions. Cause: ${ensureError(e).message}`,
      );
      return undefined;
    }
  }

  async function advanceCursor(vaultId: string, value: string, options: PollOptions): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await deps.cursors.get("jobs", vaultId, options);
      if (current && current.value >= value) return;
      try {
        await deps.cursors.put(
          current ? { ...current, value } : { partition: "jobs", name: vaultId, value },
          options,
        );
        return;
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
      }
    }
  }

  return {
    async pollOnce(options = {}) {
      const result: PollResult = {
        vaults: 0,
        listed: 0,
        fetched: 0,
        inserted: 0,
        updated: 0,
        finished: 0,
        conflicts: 0,
        failedVaults: [],
      };
      const followedByVault = new Map<string, Map<string, ActiveJobRecord>>();
      for await (const row of deps.activeJobs.list(options)) {
        const vault = row.vaultId.toLowerCase();
        const map = followedByVault.get(vault) ?? new Map<string, ActiveJobRecord>();
        map.set(row.jobId, row);
        followedByVault.set(vault, map);
      }
      const vaults = new Set<string>(followedByVault.keys());
      const cursorValues = new Map<string, string>();
      for (const c of await deps.cursors.list("jobs", options)) {
        vaults.add(c.name.toLowerCase());
        cursorValues.set(c.name.toLowerCase(), c.value);
      }
      for (const v of (await deps.knownVaults?.(options)) ?? []) vaults.add(v.toLowerCase());
      result.vaults = vaults.size;
      const listed = await listRecent([...vaults], cursorValues, followedByVault, options);
      await mapWithConcurrency([...vaults], concurrency, async (vaultId) => {
        try {
          await pollVault(
            vaultId,
            followedByVault.get(vaultId) ?? new Map(),
            result,
            options,
            listed?.get(vaultId),
          );
        } catch (e) {
          options.abortSignal?.throwIfAborted();
          result.failedVaults.push(vaultId);
          logger.warn(`Polling vault ${vaultId} failed; it is retried next cycle: ${ensureError(e).message}`);
        }
      });
      return result;
    },
  };
}

/** What the history says about a followed job its vault answers 404 for. */
function vanished(active: ActiveJobRecord, vaultId: string): Observed {
  const vaultName = vaultId.split("/").pop() ?? vaultId;
  return {
    jobId: active.jobId,
    serverId: active.serverId,
    serverName: active.serverId.split("/").pop() ?? active.serverId,
    vaultId,
    status: UNKNOWN_JOB_STATUS,
    startTime: active.startTime,
    errorCode: "JobNotFound",
    errorMessage: `Backup job ${active.jobId} no longer exists in vault ${vaultName}; its outcome is unknown.`,
    recommendedAction:
      `Check that vault ${vaultName} and the server's backup instance still exist, and look for the ` +
      "server's recovery points in the vault; start a new backup if none is recent.",
  };
}
