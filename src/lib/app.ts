/**
 * The one composition root: builds every capability from configuration over one set of ARM clients (so
 * one pacer sees all of the process's ARM traffic), one Storage connection, one alerter and one logger.
 * Functions, the CLI, the local host, benchmarks, drills and tests all start here. Heavy modules load
 * with `import()` on first use: the Functions entry module must stay light (cold start is measured).
 */
import type { Config } from "./config/index.js";
import { getConfig } from "./config/index.js";
import type { Logger } from "./logger.js";
import { createConsoleLogger } from "./logger.js";
// The ARM adapters are light: the SDKs behind them load on first use (see azure/clients.ts).
import { createArmClients, type ArmClients } from "./azure/clients.js";
import { createBackupOperations, type BackupOperations } from "./azure/backupOperations.js";
import { createProtectionOperations, type ProtectionOperations } from "./azure/protectionOperations.js";
import { createRolesClient, type RolesClient } from "./azure/roles.js";
import { createServersClient, type ServersClient } from "./azure/servers.js";
import type { Alerter } from "./alerts/alerts.js";
import type { BackupApi } from "./backups/api.js";
import type { BackupService } from "./backups/service.js";
import type { ScheduledBackups } from "./backups/scheduled.js";
import type { SweepsApi } from "./compliance/api.js";
import type { EnqueueProtection, Sweeper } from "./compliance/sweeper.js";
import type { ResourceEventHandler } from "./events/handler.js";
import type { JobPoller } from "./jobs/poller.js";
import type { ProtectionQueue } from "./protection/queueMessages.js";
import type { ProtectionSettings } from "./protection/settings.js";
import type { ProtectionWorker } from "./protection/worker.js";
import type { RestoreApi } from "./restore/api.js";
import type { RestoreService } from "./restore/service.js";
import type { RestoreTestApi } from "./restoreTests/api.js";
import type { RestoreTestReader, RestoreTestService } from "./restoreTests/model.js";
import type { RestoreTestSummariesApi } from "./restoreTests/summariesApi.js";
import type { AuditLog } from "./store/audit.js";
import type { StorageConnection } from "./store/connection.js";
import type { RestoreStore } from "./store/restores.js";
import type { RestoreTestStore } from "./store/restoreTests.js";
import type { ServerStore } from "./store/servers.js";
import type { SweepStore } from "./store/sweeps.js";
import type { OperationOptions } from "./util/options.js";
import { ensureError } from "./errors.js";
import { useTelemetry, type Telemetry } from "./telemetry/index.js";

const DAY_IN_MS = 86_400_000;

/** The Azure operations the capabilities use, over one {@link ArmClients}. */
export interface AzureOperations {
  readonly clients: ArmClients;
  readonly servers: ServersClient;
  readonly roles: RolesClient;
  readonly protection: ProtectionOperations;
  readonly backups: BackupOperations;
}

/** Stores that replace their Storage tables and queues (the CLI keeps nothing in Storage). */
export interface AppStores {
  servers?: ServerStore;
  audit?: AuditLog;
  sweeps?: SweepStore;
  /** Where protection requests go instead of the `protect-requests` queue. */
  protectionQueue?: ProtectionQueue;
  /** Where a configuring instance's follow-ups go instead of `protect-checks`; default: `protectionQueue` if given. */
  protectionChecksQueue?: ProtectionQueue;
  restores?: RestoreStore;
  restoreTests?: RestoreTestStore;
}

export interface AppOverrides {
  /** Default: `createArmClients(config)`; tests pass clients with faster pacing or a recording policy. */
  clients?: ArmClients;
  /** Default: the configured Storage account (identity-based in Azure, sharing the ARM credential). */
  connection?: StorageConnection;
  /** Default: the configured Event Grid topic and/or webhook (see `createConfiguredAlerter`). */
  alerter?: Alerter;
  logger?: Logger;
  /** Scaled durations for tests and the local host. */
  protectionSettings?: Partial<ProtectionSettings>;
  stores?: AppStores;
  /** How a sweep protects what it owes; default: a message on the protection queue. */
  enqueueProtection?: EnqueueProtection;
  /** Parallel protection enqueues of a sweep (the sweeper's default otherwise). */
  remediationConcurrency?: number;
  /** Installed for the process instead of the configured telemetry (tests pass an in-memory one). */
  telemetry?: Telemetry;
  /**
   * Where restore test results are read (the sweep's RestoreUntested signal, GET /api/restoreTestSummaries);
   * none by default until the restore-test store is wired here.
   */
  restoreTestReader?: RestoreTestReader;
}

export interface App {
  readonly config: Config;
  readonly azure: AzureOperations;
  readonly protection: {
    worker: ProtectionWorker;
    settings: ProtectionSettings;
    /** Removes `Deleted` server rows older than PGFLEX_HISTORY_RETENTION_DAYS; the ids removed. */
    purgeDeleted(now?: Date): Promise<string[]>;
  };
  readonly events: ResourceEventHandler;
  readonly backups: {
    api: BackupApi;
    service: BackupService;
    scheduled: ScheduledBackups;
    staleCheck: { run(options?: OperationOptions): Promise<number> };
    /** Removes job rows older than PGFLEX_HISTORY_RETENTION_DAYS; the number removed. */
    purgeHistory(now?: Date): Promise<number>;
  };
  /** The job poller; each process copies day rows once before its first cycle. */
  readonly jobs: { poller: JobPoller };
  readonly compliance: {
    sweeper: Sweeper;
    api: SweepsApi;
    /** The sweep tables (benchmarks read `requestCount`: the report's Table requests). */
    store: SweepStore;
    /** Removes sweeps (summaries, rows, scope results) older than PGFLEX_HISTORY_RETENTION_DAYS; the ids removed. */
    purgeSweeps(now?: Date): Promise<string[]>;
  };
  readonly alerts: Alerter;
  /** Restores as files: recovery points, restores and their tracker. */
  readonly restore: { service: RestoreService; api: RestoreApi };
  /** Restore tests: the plan, the advance, their API and the reader the dashboard and sweeps use. */
  readonly restoreTests: { service: RestoreTestService; api: RestoreTestApi; reader: RestoreTestReader };
  /** GET /api/restoreTestSummaries: each server's latest restore test, for the dashboard. */
  readonly restoreTestSummaries: RestoreTestSummariesApi;
}

/** The Azure operations alone, for callers that need no Storage (the CLI's ARM-only commands). */
export function createAzureOperations(config: Config, clients = createArmClients(config)): AzureOperations {
  return {
    clients,
    servers: createServersClient(clients),
    roles: createRolesClient(clients),
    protection: createProtectionOperations(clients),
    backups: createBackupOperations(clients, { useResourceGraph: config.useResourceGraph }),
  };
}

/** What every capability is built over: one of each, shared. */
interface Shared {
  config: Config;
  overrides: AppOverrides;
  logger: Logger;
  azure: AzureOperations;
  connection: StorageConnection;
  servers: ServerStore;
  protectionQueue: ProtectionQueue;
  alerts: Alerter;
  /** Restore test results: written by the restore tests, read by sweeps and the summaries API. */
  restoreTestStore: RestoreTestStore;
}

export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = overrides.logger ?? createConsoleLogger("pgflex-autoprotect");
  const azure = createAzureOperations(config, overrides.clients);
  const startTelemetry = await installTelemetry(config, overrides, azure, logger);
  const [
    { createStorageConnection },
    { createServerStore },
    { createProtectionQueue },
    { createRestoreTestStore },
  ] = await Promise.all([
    import("./store/connection.js"),
    import("./store/servers.js"),
    import("./protection/queueMessages.js"),
    import("./store/restoreTests.js"),
  ]);
  // In Azure, Storage is identity-based and shares the ARM credential.
  const connection =
    overrides.connection ??
    createStorageConnection(
      config,
      config.storageConnection ? {} : { credential: await azure.clients.credential() },
    );
  // The fleet's ARM budget (PGFLEX_ARM_BUDGET): the app's own clients draw from the armBudget table; clients
  // passed in keep the pacing they were built with.
  if (!overrides.clients && config.armBudget === "shared") {
    const { createArmBudget } = await import("./store/armBudget.js");
    azure.clients.useSharedBudget(createArmBudget(connection));
  }
  const alerts =
    overrides.alerter ??
    (await (
      await import("./alerts/configured.js")
    ).createConfiguredAlerter(config, { connection, credential: () => azure.clients.credential(), logger }));
  const shared: Shared = {
    config,
    overrides,
    logger,
    azure,
    connection,
    servers: overrides.stores?.servers ?? createServerStore(connection),
    protectionQueue: overrides.stores?.protectionQueue ?? createProtectionQueue(connection),
    alerts,
    restoreTestStore: overrides.stores?.restoreTests ?? createRestoreTestStore(connection),
  };
  const [protection, backups, compliance, restore, { createRestoreTestSummariesApi }] = await Promise.all([
    wireProtection(shared),
    wireBackups(shared),
    wireCompliance(shared),
    wireRestore(shared),
    import("./restoreTests/summariesApi.js"),
  ]);
  const restoreTests = await wireRestoreTests(shared, restore);
  const restoreTestSummaries = createRestoreTestSummariesApi(
    { reader: overrides.restoreTestReader ?? restoreTests.reader, scopes: config.scopes },
    { logger },
  );
  startTelemetry?.();
  return {
    config,
    azure,
    ...protection,
    ...backups,
    compliance,
    alerts,
    restore: { service: restore.service, api: restore.api },
    restoreTests,
    restoreTestSummaries,
  };
}

/**
 * Telemetry for the process: the override, else OpenTelemetry when APPLICATIONINSIGHTS_CONNECTION_STRING
 * or PGFLEX_TELEMETRY_CONSOLE asks for it, else none. The SDKs load in the background once the app is
 * built (the returned start; see telemetry/deferred.ts): a cold start does not wait for them, nor do the
 * app's own modules load behind them. A failure to start is logged and the app runs without telemetry:
 * metrics are not worth a stopped protection.
 */
async function installTelemetry(
  config: Config,
  overrides: AppOverrides,
  azure: AzureOperations,
  logger: Logger,
): Promise<(() => void) | undefined> {
  if (overrides.telemetry) {
    useTelemetry(overrides.telemetry);
    return undefined;
  }
  if (!config.telemetryConnectionString && !config.telemetryConsole) return undefined;
  const { createDeferredTelemetry } = await import("./telemetry/deferred.js");
  let start!: () => void;
  const built = new Promise<void>((resolve) => (start = resolve));
  const started = built
    .then(() => import("./telemetry/start.js"))
    .then(({ startTelemetry }) => startTelemetry(config, () => azure.clients.credential()))
    .catch((e: unknown) => {
      logger.warn(
        `Telemetry is off: it could not start (${ensureError(e).message}). Check APPLICATIONINSIGHTS_CONNECTION_STRING and the app identity's Monitoring Metrics Publisher role on Application Insights, or unset it.`,
      );
      return undefined;
    });
  useTelemetry(createDeferredTelemetry(started));
  return start;
}

/** The protection worker and the events that request its work. */
async function wireProtection(shared: Shared): Promise<Pick<App, "protection" | "events">> {
  const { config, overrides, logger, azure, connection, servers, protectionQueue } = shared;
  const [
    { createProtectionChecksQueue },
    { protectionSettingsFromConfig },
    { createProtectionWorker },
    { createResourceEventHandler },
    { createAuditLog },
    { purgeDeletedServers },
  ] = await Promise.all([
    import("./protection/queueMessages.js"),
    import("./protection/settings.js"),
    import("./protection/worker.js"),
    import("./events/handler.js"),
    import("./store/audit.js"),
    import("./protection/purge.js"),
  ]);
  const settings = protectionSettingsFromConfig(config, overrides.protectionSettings);
  const audit = overrides.stores?.audit ?? createAuditLog(connection);
  const stores = overrides.stores;
  const worker = createProtectionWorker({
    servers,
    audit,
    queue: protectionQueue,
    checks:
      stores?.protectionChecksQueue ??
      (stores?.protectionQueue ? protectionQueue : createProtectionChecksQueue(connection)),
    arm: { servers: azure.servers, roles: azure.roles, dataProtection: azure.protection },
    settings,
    logger,
    alerter: shared.alerts,
  });
  const events = createResourceEventHandler({
    queue: protectionQueue,
    servers,
    scopes: config.scopes,
    backupTag: config.backupTag,
    logger,
  });
  const purgeDeleted = (now = new Date()) =>
    purgeDeletedServers({ servers, audit, retentionDays: config.historyRetentionDays }, now);
  return { protection: { worker, settings, purgeDeleted }, events };
}

/** On-demand and scheduled backups, and the job history with its poller. */
async function wireBackups(shared: Shared): Promise<Pick<App, "backups" | "jobs">> {
  const { config, overrides, logger, azure, connection, servers, alerts } = shared;
  const [
    { createJobStore },
    { createActiveJobStore },
    { createCursorStore },
    { createTableServerPager },
    { createBackupService, startClaimStaleAfterInMs },
    { createBackupApi },
    { createScheduledBackups },
    { createJobOutcomeHandler, createStaleBackupCheck },
    { createDayCopyMigration },
    { createJobPoller },
    { createKnownVaults },
  ] = await Promise.all([
    import("./store/jobs.js"),
    import("./store/activeJobs.js"),
    import("./store/cursors.js"),
    import("./store/serverPages.js"),
    import("./backups/service.js"),
    import("./backups/api.js"),
    import("./backups/scheduled.js"),
    import("./backups/outcomes.js"),
    import("./backups/dayCopies.js"),
    import("./jobs/poller.js"),
    import("./jobs/knownVaults.js"),
  ]);
  const jobs = createJobStore(connection);
  const activeJobs = createActiveJobStore(connection);
  const cursors = createCursorStore(connection);
  const gateway = azure.backups;
  const service = createBackupService({
    servers,
    jobs,
    activeJobs,
    gateway,
    scopes: config.scopes,
    logger,
    startClaimStaleAfterInMs: startClaimStaleAfterInMs(config.timeScale),
  });
  const api = createBackupApi(
    {
      backups: service,
      jobs,
      servers,
      // Keyset pages straight on the table; a replaced store is paged through its own listing.
      ...(overrides.stores?.servers ? {} : { serverPages: createTableServerPager(connection) }),
      scopes: config.scopes,
    },
    { logger },
  );
  const scheduled = createScheduledBackups({
    selectors: config.scheduledBackups,
    cursors,
    servers,
    backupTag: config.backupTag,
    readServerTags: async (serverId, options) => (await azure.servers.getServer(serverId, options))?.tags,
    backups: service,
    logger,
    firstLookBackInMs: 5 * 60_000,
  });
  const staleCheck = createStaleBackupCheck({
    servers,
    jobs,
    alerter: alerts,
    graceInMs: config.staleGraceHours * 3_600_000,
    intervalInMs: 15 * 60_000,
    periodInMs: (vaultId, policyName) => gateway.getPolicyPeriodInMs(vaultId, policyName),
  });
  const jobPoller = createJobPoller({
    gateway,
    jobs,
    activeJobs,
    cursors,
    logger,
    onFinished: createJobOutcomeHandler({ servers, alerter: alerts, logger }),
    maxLookBackInMs: config.historyRetentionDays * DAY_IN_MS,
    knownVaults: createKnownVaults({ vaultMap: config.vaultMap, servers }),
  });
  const dayCopies = createDayCopyMigration({ jobs, cursors, logger });
  // Rows older than the cross-server day table are copied once, before the first cycle of each process.
  const poller: JobPoller = {
    async pollOnce(options = {}) {
      await dayCopies.ensure(options);
      return jobPoller.pollOnce(options);
    },
  };
  return {
    backups: {
      api,
      service,
      scheduled,
      staleCheck,
      purgeHistory: (now = new Date()) =>
        jobs.deleteStartedBefore(new Date(now.getTime() - config.historyRetentionDays * DAY_IN_MS)),
    },
    jobs: { poller },
  };
}

/** Compliance sweeps: inventory (Resource Graph or ARM lists), the sweep tables and the `sweep-scopes` queue. */
async function wireCompliance(shared: Shared): Promise<App["compliance"]> {
  const { config, overrides, logger, azure, connection, servers, protectionQueue } = shared;
  const [
    { createSweepStore },
    { createQueueSender, QueueNames },
    { enqueueProtection },
    { createInventorySource },
    { createSweeper, sweepConfigFrom },
    { createSweepsApi },
    { createRecordedServers },
  ] = await Promise.all([
    import("./store/sweeps.js"),
    import("./store/queues.js"),
    import("./protection/queueMessages.js"),
    import("./azure/inventory/armReaders.js"),
    import("./compliance/sweeper.js"),
    import("./compliance/api.js"),
    import("./compliance/recordedServers.js"),
  ]);
  const store = overrides.stores?.sweeps ?? createSweepStore(connection);
  const sweeper = createSweeper({
    inventory: createInventorySource(azure.clients, config.useResourceGraph),
    store,
    config: sweepConfigFrom(config),
    enqueueProtection:
      overrides.enqueueProtection ??
      (async (request, options) => {
        await enqueueProtection(
          protectionQueue,
          request.serverId,
          { kind: "sweep", sweepId: request.sweepId },
          options,
        );
      }),
    scopeQueue: createQueueSender(connection, QueueNames.sweepScopes),
    listServerRecords: createRecordedServers(servers),
    restoreTests: overrides.restoreTestReader ?? shared.restoreTestStore,
    logger,
    ...(overrides.remediationConcurrency ? { remediationConcurrency: overrides.remediationConcurrency } : {}),
  });
  return {
    sweeper,
    api: createSweepsApi({ sweeper }, { logger }),
    store,
    purgeSweeps: (now = new Date()) =>
      store.deleteSweepsStartedBefore(new Date(now.getTime() - config.historyRetentionDays * DAY_IN_MS)),
  };
}

/** Restores as files: the service over the Data Protection and Storage operations, its table and its API. */
async function wireRestore(shared: Shared): Promise<App["restore"] & { restores: RestoreStore }> {
  const { config, overrides, logger, azure, connection, servers } = shared;
  const [
    { createRestoreStore },
    { createRestoreOperations },
    { createStorageOperations },
    { createRestoreService, unconfirmedRestoreRetryAfterInMs },
    { createRestoreApi },
  ] = await Promise.all([
    import("./store/restores.js"),
    import("./azure/restoreOperations.js"),
    import("./azure/storage.js"),
    import("./restore/service.js"),
    import("./restore/api.js"),
  ]);
  const restores = overrides.stores?.restores ?? createRestoreStore(connection);
  const service = createRestoreService({
    servers,
    restores,
    operations: createRestoreOperations(azure.clients),
    storage: createStorageOperations(azure.clients),
    roles: azure.roles,
    vaults: azure.protection,
    allowedTargets: config.restoreTargets,
    autoGrantRoles: config.autoGrantRoles,
    scopes: config.scopes,
    unconfirmedRetryAfterInMs: unconfirmedRestoreRetryAfterInMs(config.timeScale),
    logger,
  });
  return {
    service,
    api: createRestoreApi({ restore: service, restores, scopes: config.scopes }, { logger }),
    restores,
  };
}

/** Restore tests over the restore capability, the restored blobs and the `restoreTests` table. */
async function wireRestoreTests(
  shared: Shared,
  restore: Awaited<ReturnType<typeof wireRestore>>,
): Promise<App["restoreTests"]> {
  const { config, logger, azure, servers, alerts } = shared;
  const [{ createStorageOperations }, { createRestoreTestService }, { createRestoreTestApi }] =
    await Promise.all([
      import("./azure/storage.js"),
      import("./restoreTests/service.js"),
      import("./restoreTests/api.js"),
    ]);
  const store = shared.restoreTestStore;
  const service = createRestoreTestService({
    store,
    servers,
    restore: restore.service,
    restores: restore.restores,
    blobs: createStorageOperations(azure.clients),
    alerter: alerts,
    settings: {
      targetContainerId: config.restoreTestTarget,
      point: config.restoreTestPoint,
      everyDays: config.restoreTestEveryDays,
      concurrency: config.restoreTestConcurrency,
      rowsMaxBytes: config.restoreTestRowsMaxGb * 1024 ** 3,
      keepHours: config.restoreTestKeepHours,
      dropPercent: config.restoreTestDropPercent,
    },
    scopes: config.scopes,
    logger,
  });
  return {
    service,
    api: createRestoreTestApi({ service, scopes: config.scopes }, { logger }),
    reader: service,
  };
}

let cached: { config: Config; app: Promise<App> } | undefined;

/**
 * One app per process and configuration, so caches (vaults, policies, token buckets) serve every
 * invocation; a new configuration object (the local host reloads settings) builds a new app.
 */
export function getApp(config: Config = getConfig()): Promise<App> {
  if (cached?.config !== config) {
    const app = createApp(config);
    cached = { config, app };
    app.catch(() => {
      if (cached?.app === app) cached = undefined;
    });
  }
  return cached.app;
}

/** For tests and the local host after the environment changed. */
export function resetApp(): void {
  cached = undefined;
}
