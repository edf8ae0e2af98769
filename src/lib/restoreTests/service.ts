/**
 * Restore tests: the plan starts a restore of each due protected server's recovery point through the restore
 * capability (its checks, claim and tracking); the advance follows each test's restore, inspects every
 * database archive it wrote straight from the blob, judges the result against the server's previous passed
 * test, alerts once per server until it passes again, and deletes the restored blobs after the keep time.
 */
import { inspectArchive, type InspectionLevel } from "../archive/inspect.js";
import { ArchiveError } from "../archive/errors.js";
import type { Alerter, AlertInput } from "../alerts/alerts.js";
import type { BlobOperations } from "../azure/storage.js";
import { parseServerId } from "../domain/serverId.js";
import { ConflictError, ensureError } from "../errors.js";
import { ApiError } from "../http/errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { RestoreService } from "../restore/service.js";
import type { RestoreRecord, RestoreStore } from "../store/restores.js";
import type { ServerStore } from "../store/servers.js";
import type { RestoreTestStore } from "../store/restoreTests.js";
import { Metrics, secondsBetween, telemetry } from "../telemetry/index.js";
import type { OperationOptions } from "../util/options.js";
import type {
  RestoredDatabase,
  RestoredTable,
  RestoreTestListOptions,
  RestoreTestRecord,
  RestoreTestRun,
  RestoreTestService,
  ServerRestoreTestSummary,
} from "./model.js";
import { planTests, type PlanServer } from "./plan.js";
import { judge, SERVER_FILES } from "./verdict.js";

export interface RestoreTestSettings {
  /** PGFLEX_RESTORE_TEST_TARGET: the container tests restore into (empty: tests are off). */
  targetContainerId: string;
  /** PGFLEX_RESTORE_TEST_POINT. */
  point: { kind: "latest" } | { kind: "random"; days: number };
  everyDays: number;
  concurrency: number;
  /** Archives up to this size are read whole (`rows`), larger ones at `header`. */
  rowsMaxBytes: number;
  keepHours: number;
  dropPercent: number;
}

export interface RestoreTestServiceDeps {
  store: RestoreTestStore;
  servers: Pick<ServerStore, "get" | "list">;
  restore: Pick<RestoreService, "start" | "get" | "listRecoveryPoints">;
  /** The restores table, to find a restore a crashed test started before recording it. */
  restores: Pick<RestoreStore, "listPage">;
  blobs: BlobOperations;
  alerter: Alerter;
  settings: RestoreTestSettings;
  /** Subscriptions in scope; empty means all. */
  scopes: readonly string[];
  /** A test whose restore was never recorded is ended `Failed` after this long (default 15 minutes). */
  startStaleAfterInMs?: number;
  now?: () => Date;
  random?: () => number;
  logger?: Logger;
}

const DAY_IN_MS = 86_400_000;
const HOUR_IN_MS = 3_600_000;
const DEFAULT_START_STALE_AFTER_IN_MS = 15 * 60_000;
const REQUESTED_BY = (testId: string) => `restore-test ${testId}`;

const round1 = (n: number) => Math.round(n * 10) / 10;

/** The alert of a server whose test did not pass: one per server and last pass (so once until it passes). */
export function restoreTestAlert(test: RestoreTestRecord, lastPassedTestId: string | undefined): AlertInput {
  const what =
    test.outcome === "Suspicious"
      ? (test.findings ?? []).map((f) => f.message).join(" ")
      : `${test.reason ?? "The test failed."}`;
  return {
    kind: "RestoreTestFailed",
    dedupKey: `${test.serverId.toLowerCase()}|${lastPassedTestId ?? "never"}`,
    serverId: test.serverId.toLowerCase(),
    title: `Restore test of ${test.serverName}: ${test.outcome}`,
    message: `Restore test ${test.testId} of ${test.serverId} is ${test.outcome}: ${what}`,
    recommendedAction:
      test.fix ??
      `Check what changed in the named tables since the last passed test (GET /api/restoreTests/${test.testId}); if the data loss is real, restore an earlier recovery point (POST /api/servers/…/restores).`,
  };
}

export function createRestoreTestService(deps: RestoreTestServiceDeps): RestoreTestService {
  const now = deps.now ?? (() => new Date());
  const random = deps.random ?? Math.random;
  const logger = deps.logger ?? silentLogger;
  const settings = deps.settings;
  const startStaleAfterInMs = deps.startStaleAfterInMs ?? DEFAULT_START_STALE_AFTER_IN_MS;
  const inScope = (serverId: string) =>
    deps.scopes.length === 0 || deps.scopes.includes((serverId.split("/")[2] ?? "").toLowerCase());

  function requireTarget(): string {
    if (!settings.targetContainerId) {
      throw new ApiError(409, "RestoreTestsNotConfigured", "Restore tests have no target container.", {
        target: "PGFLEX_RESTORE_TEST_TARGET",
        fix: "Set PGFLEX_RESTORE_TEST_TARGET to a blob container id listed in PGFLEX_RESTORE_TARGETS (see docs/configuration.md), then retry.",
      });
    }
    return settings.targetContainerId;
  }

  async function candidates(
    serverId: string | undefined,
    options: OperationOptions,
  ): Promise<{ servers: PlanServer[]; skipped: RestoreTestRun["skipped"] }> {
    if (serverId) {
      const server = await deps.servers.get(serverId.toLowerCase(), options);
      const reason = !inScope(serverId)
        ? "The server's subscription is not in this app's scope (PGFLEX_SCOPES)."
        : !server
          ? "The server is not known to this app: tag it with backup=<policy> and wait until it is Protected."
          : server.state !== "Protected"
            ? `The server is ${server.state}, not Protected: it has no backups to test yet.`
            : undefined;
      return reason || !server
        ? { servers: [], skipped: [{ serverId, reason: reason ?? "" }] }
        : { servers: [{ serverId: server.resourceId, serverName: server.serverName }], skipped: [] };
    }
    const servers: PlanServer[] = [];
    for await (const s of deps.servers.list({ ...options, state: "Protected" }))
      if (inScope(s.resourceId)) servers.push({ serverId: s.resourceId, serverName: s.serverName });
    return { servers, skipped: [] };
  }

  /** The recovery point to restore, or why there is none. */
  async function choosePoint(
    server: PlanServer,
    options: OperationOptions,
  ): Promise<{ id: string; time: string } | { skip: string }> {
    const ref = parseServerId(server.serverId);
    if (!ref) return { skip: "The server id is not a PostgreSQL flexible server id." };
    const window = settings.point.kind === "random" ? settings.point.days : 0;
    const since = now().getTime() - window * DAY_IN_MS;
    const points: Array<{ id: string; time: string }> = [];
    let token: string | undefined;
    do {
      const page = await deps.restore.listRecoveryPoints(ref, {
        ...options,
        top: window ? 100 : 1,
        ...(token ? { continuationToken: token } : {}),
      });
      for (const p of page.items) if (!window || Date.parse(p.time) >= since) points.push(p);
      const last = page.items.at(-1);
      token = window && last && Date.parse(last.time) >= since ? page.continuationToken : undefined;
    } while (token);
    if (points.length === 0)
      return {
        skip: window
          ? `No recovery point in the last ${window} days (PGFLEX_RESTORE_TEST_POINT=random:${window}).`
          : "No recovery point yet: its first backup has not completed.",
      };
    return points[window ? Math.min(points.length - 1, Math.floor(random() * points.length)) : 0] as {
      id: string;
      time: string;
    };
  }

  async function startOne(
    server: PlanServer,
    requestedBy: string,
    oncePerDay: boolean,
    options: OperationOptions,
  ): Promise<RestoreTestRecord | { skip: string }> {
    const point = await choosePoint(server, options).catch((e: unknown) => {
      if (e instanceof ApiError) return { skip: `${e.message} ${e.details.fix ?? ""}`.trim() };
      throw e;
    });
    if ("skip" in point) return point;
    const claim = await deps.store.claim(
      { serverId: server.serverId, serverName: server.serverName, requestedBy },
      now(),
      { ...options, oncePerDay },
    );
    if (!claim.created) {
      const id = claim.existing ? ` (test ${claim.existing.testId})` : "";
      return {
        skip:
          claim.reason === "Running"
            ? `A restore test of this server is running${id}.`
            : claim.reason === "TestedToday"
              ? `Tested today already${id}: at most one scheduled test per server a day.`
              : "Another request is starting a test of this server.",
      };
    }
    let test: RestoreTestRecord = {
      ...claim.record,
      recoveryPointId: point.id,
      recoveryPointTime: point.time,
      recoveryPointAgeInHours: round1(
        (Date.parse(claim.record.startedAt) - Date.parse(point.time)) / HOUR_IN_MS,
      ),
    };
    const ref = parseServerId(server.serverId);
    try {
      const restore = await deps.restore.start(
        {
          subscriptionId: ref?.subscriptionId ?? "",
          resourceGroup: ref?.resourceGroup ?? "",
          serverName: server.serverName,
        },
        {
          targetContainerId: requireTarget(),
          recoveryPointId: point.id,
          requestedBy: REQUESTED_BY(test.testId),
        },
        options,
      );
      test = {
        ...test,
        restoreId: restore.restoreId,
        ...(restore.jobId ? { restoreJobId: restore.jobId } : {}),
      };
    } catch (e) {
      if (e instanceof ApiError && e.code === "RestoreStartUnconfirmed" && e.details.target) {
        // The restore capability follows it (adopts the job, or sends it again): so does the test.
        test = { ...test, restoreId: e.details.target };
      } else {
        const error = ensureError(e);
        test = await verdictRecorded(
          test,
          {
            outcome: "Failed",
            findings: [],
            reason: `The restore could not start: ${e instanceof ApiError ? `${e.code}: ` : ""}${error.message}`,
            fix:
              e instanceof ApiError && e.details.fix
                ? e.details.fix
                : `Retry later (POST /api/restoreTests {"serverId": "${server.serverId}"}); if it fails again, check the app's logs.`,
          },
          options,
        );
        return test;
      }
    }
    try {
      return await deps.store.update(test, now(), options);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      // The advance found this test's restore first and recorded it: keep its row, add what only the start knows.
      const stored = await deps.store.get(test.testId, options);
      if (!stored || stored.restoreId !== test.restoreId) throw e;
      return deps.store.update(
        {
          ...stored,
          recoveryPointId: stored.recoveryPointId ?? point.id,
          recoveryPointTime: stored.recoveryPointTime ?? point.time,
          recoveryPointAgeInHours: stored.recoveryPointAgeInHours ?? test.recoveryPointAgeInHours,
          ...(test.restoreJobId && !stored.restoreJobId ? { restoreJobId: test.restoreJobId } : {}),
        },
        now(),
        options,
      );
    }
  }

  /** Records the verdict (ETag-guarded: one instance wins), then counts it and alerts. */
  async function verdictRecorded(
    test: RestoreTestRecord,
    verdict: Pick<RestoreTestRecord, "outcome" | "findings" | "reason" | "fix"> & Partial<RestoreTestRecord>,
    options: OperationOptions,
  ): Promise<RestoreTestRecord> {
    const at = now();
    const state = await deps.store.serverState(test.serverId, options);
    const previousPass = state?.lastPassedTestId;
    const saved = await deps.store.update(
      {
        ...test,
        ...verdict,
        ...(verdict.findings?.length ? {} : { findings: undefined }),
        endedAt: at.toISOString(),
      } as RestoreTestRecord,
      at,
      options,
    );
    telemetry().count(Metrics.restoreTests.name, { outcome: saved.outcome });
    if (saved.outcome === "Failed" || saved.outcome === "Suspicious") {
      try {
        await deps.alerter.raise(restoreTestAlert(saved, previousPass), options);
      } catch (e) {
        logger.warn(`Restore test ${saved.testId}: the alert could not be raised: ${ensureError(e).message}`);
      }
    }
    logger.info(`Restore test ${saved.testId} of ${saved.serverName}: ${saved.outcome}.`);
    return saved;
  }

  async function inspectAll(restore: RestoreRecord, options: OperationOptions): Promise<RestoredDatabase[]> {
    const out: RestoredDatabase[] = [];
    for (const file of restore.files ?? []) {
      if (file.kind !== "database" || !file.database) continue;
      const level: InspectionLevel = file.sizeInBytes <= settings.rowsMaxBytes ? "rows" : "header";
      const base = {
        database: file.database,
        blobName: file.name,
        archiveBytes: file.sizeInBytes,
        level,
        tables: [],
      };
      const source = await deps.blobs.openBlob(restore.containerUrl, file.name, options);
      if (!source) {
        out.push({ ...base, error: "the blob is gone from the container (deleted before the test read it)" });
        continue;
      }
      try {
        const inspection = await inspectArchive(source, {
          level,
          ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
        });
        out.push({
          ...base,
          archiveBytes: inspection.archiveBytes,
          tables: inspection.tables.map((t): RestoredTable => ({
            name: t.schema ? `${t.schema}.${t.name}` : t.name,
            ...(t.rows !== undefined ? { rows: t.rows } : {}),
            ...(t.bytes !== undefined ? { bytes: t.bytes } : {}),
          })),
          ...(inspection.totals ? { rows: inspection.totals.rows, bytes: inspection.totals.bytes } : {}),
          ...(inspection.header.pgDumpVersion ? { pgDumpVersion: inspection.header.pgDumpVersion } : {}),
          ...(inspection.header.serverVersion ? { serverVersion: inspection.header.serverVersion } : {}),
        });
      } catch (e) {
        if (!(e instanceof ArchiveError)) throw e;
        out.push({ ...base, error: e.message });
      }
    }
    return out;
  }

  /** Moves one running test on; true when it reached a verdict. */
  async function advanceOne(test: RestoreTestRecord, options: OperationOptions): Promise<boolean> {
    let current = test;
    if (!current.restoreId) {
      const page = await deps.restores.listPage({ ...options, serverId: current.serverId, top: 20 });
      const found = page.items.find((r) => r.requestedBy === REQUESTED_BY(current.testId));
      if (found) {
        current = await deps.store.update(
          { ...current, restoreId: found.restoreId, ...(found.jobId ? { restoreJobId: found.jobId } : {}) },
          now(),
          options,
        );
      } else if (now().getTime() - Date.parse(current.startedAt) >= startStaleAfterInMs) {
        await verdictRecorded(
          current,
          {
            outcome: "Failed",
            findings: [],
            reason: "The test stopped before its restore started (the app restarted or lost the call).",
            fix: `Run it again: POST /api/restoreTests {"serverId": "${current.serverId}"}.`,
          },
          options,
        );
        return true;
      } else return false;
    }
    const restore = await deps.restore.get(current.restoreId ?? "", options);
    if (!restore) {
      await verdictRecorded(
        current,
        {
          outcome: "Failed",
          findings: [],
          reason: `Restore ${current.restoreId} of this test is not recorded any more.`,
          fix: `Run the test again: POST /api/restoreTests {"serverId": "${current.serverId}"}.`,
        },
        options,
      );
      return true;
    }
    if (restore.jobId && !current.restoreJobId) current = { ...current, restoreJobId: restore.jobId };
    if (restore.status !== "Completed" && restore.status !== "Failed") return false;
    const restoreDurationInSeconds = restore.endTime
      ? secondsBetween(restore.createdAt, restore.endTime)
      : undefined;
    const times = restoreDurationInSeconds !== undefined ? { restoreDurationInSeconds } : {};
    if (restore.status === "Failed") {
      await verdictRecorded(
        { ...current, ...times },
        judge({
          restoreError: {
            code: restore.errorCode ?? "Failed",
            message: restore.errorMessage ?? "the restore job failed",
          },
          databases: [],
          missingFiles: [],
          dropPercent: settings.dropPercent,
          serverName: current.serverName,
          ...(current.recoveryPointId ? { recoveryPointId: current.recoveryPointId } : {}),
        }),
        options,
      );
      return true;
    }
    const inspectStart = now();
    const databases = await inspectAll(restore, options);
    const inspected = now();
    const kinds = new Set((restore.files ?? []).map((f) => f.kind));
    const missingFiles = SERVER_FILES.filter((f) => !kinds.has(f.replace(/\.sql$/, "") as "roles"));
    const state = await deps.store.serverState(current.serverId, options);
    const previous = state?.lastPassedTestId
      ? await deps.store.get(state.lastPassedTestId, options)
      : undefined;
    const verdict = judge({
      databases,
      missingFiles,
      ...(previous?.databases ? { previous: previous.databases } : {}),
      dropPercent: settings.dropPercent,
      serverName: current.serverName,
      ...(current.recoveryPointId ? { recoveryPointId: current.recoveryPointId } : {}),
    });
    await verdictRecorded(
      { ...current, ...times },
      {
        ...verdict,
        databases,
        ...(missingFiles.length ? { missingFiles: [...missingFiles] } : {}),
        ...(previous ? { comparedWithTestId: previous.testId } : {}),
        inspectionDurationInSeconds: secondsBetween(inspectStart.getTime(), inspected.getTime()) ?? 0,
        timeToRestoreInSeconds: secondsBetween(restore.createdAt, inspected.getTime()) ?? 0,
        cleanupAfter: new Date(inspected.getTime() + settings.keepHours * HOUR_IN_MS).toISOString(),
      },
      options,
    );
    return true;
  }

  async function cleanUp(options: OperationOptions): Promise<void> {
    for (const test of await deps.store.listCleanupDue(now(), options)) {
      try {
        const restore = test.restoreId ? await deps.restore.get(test.restoreId, options) : undefined;
        for (const file of restore?.files ?? [])
          await deps.blobs.deleteBlob(restore?.containerUrl ?? "", file.name, options);
        await deps.store.update({ ...test, cleanedUpAt: now().toISOString() }, now(), options);
        logger.info(`Restore test ${test.testId}: deleted ${restore?.files?.length ?? 0} restored blobs.`);
      } catch (e) {
        if (e instanceof ConflictError) continue;
        logger.warn(
          `Restore test ${test.testId}: the restored blobs could not be deleted this time: ${ensureError(e).message}`,
        );
      }
    }
  }

  return {
    get: (testId, options) => deps.store.get(testId, options),
    listPage: (options?: RestoreTestListOptions) => deps.store.listPage(options),
    summaries: (options): AsyncIterable<ServerRestoreTestSummary> => deps.store.summaries(options),

    async run(request, options = {}) {
      requireTarget();
      const { servers, skipped } = await candidates(request.serverId, options);
      const running = await deps.store.listRunning(options);
      const states = (await deps.store.serverStates(options)).map((s) => ({
        serverId: s.serverId,
        ...(s.lastStartedAt ? { lastStartedAt: s.lastStartedAt } : {}),
        running: running.some((t) => t.serverId.toLowerCase() === s.serverId.toLowerCase()),
      }));
      const plan = planTests({
        servers,
        states,
        running: running.length,
        concurrency: settings.concurrency,
        everyDays: settings.everyDays,
        now: now(),
        forced: Boolean(request.serverId),
      });
      const result: RestoreTestRun = { started: [], skipped: [...skipped, ...plan.skipped] };
      for (const server of plan.start) {
        try {
          const outcome = await startOne(server, request.requestedBy, !request.serverId, options);
          if ("skip" in outcome) result.skipped.push({ serverId: server.serverId, reason: outcome.skip });
          else result.started.push(outcome);
        } catch (e) {
          logger.warn(`Restore test of ${server.serverName} could not start: ${ensureError(e).message}`);
          result.skipped.push({
            serverId: server.serverId,
            reason: `Could not start: ${ensureError(e).message}. The next run tries again.`,
          });
        }
      }
      return result;
    },

    async advance(options = {}) {
      let judged = 0;
      for (const test of await deps.store.listRunning(options)) {
        try {
          if (await advanceOne(test, options)) judged++;
        } catch (e) {
          if (e instanceof ConflictError) continue; // another instance moved it on
          logger.warn(
            `Restore test ${test.testId} could not be moved on this time: ${ensureError(e).message}`,
          );
        }
      }
      await cleanUp(options);
      return judged;
    },
  };
}
