import type { Config } from "../config/index.js";
import { getConfig } from "../config/index.js";
import { createLogger } from "./logger.js";
import type { Logger } from "../logger.js";

/**
 * Composition root of backups, jobs and alerts: wires the stores, the ARM clients and the publishers
 * from configuration once per process. Heavy modules load on first use (cold start is measured).
 */
export async function createBackupApp(config: Config, logger: Logger = createLogger()) {
  const [
    { createStorageConnection },
    { createJobStore },
    { createActiveJobStore },
    { createCursorStore },
    { createServerStore },
  ] = await Promise.all([
    import("../store/connection.js"),
    import("../store/jobs.js"),
    import("../store/activeJobs.js"),
    import("../store/cursors.js"),
    import("../store/servers.js"),
  ]);
  const { createArmClients } = await import("../azure/clients.js");
  const clients = createArmClients(config);
  const connection = createStorageConnection(
    config,
    config.storageConnection ? {} : { credential: await clients.credential() },
  );
  const jobs = createJobStore(connection);
  const activeJobs = createActiveJobStore(connection);
  const cursors = createCursorStore(connection);
  const servers = createServerStore(connection);

  const { createAzureBackupGateway } = await import("./azureGateway.js");
  const gateway = createAzureBackupGateway(clients);

  const { createConfiguredAlerter } = await import("../alerts/configured.js");
  const alerter = await createConfiguredAlerter(config, {
    connection,
    credential: () => clients.credential(),
    logger,
  });

  const { createBackupService, startClaimStaleAfterInMs } = await import("./service.js");
  const backups = createBackupService({
    servers,
    jobs,
    activeJobs,
    gateway,
    scopes: config.scopes,
    startClaimStaleAfterInMs: startClaimStaleAfterInMs(config.timeScale),
    logger,
  });

  const [{ createBackupApi }, { createTableServerPager }, { SERVERS_TABLE }] = await Promise.all([
    import("./api.js"),
    import("./serverPages.js"),
    import("../store/servers.js"),
  ]);
  const serverPages = createTableServerPager(connection.tableClient(SERVERS_TABLE));
  const api = createBackupApi({ backups, jobs, servers, serverPages, scopes: config.scopes }, { logger });

  const { createJobOutcomeHandler, createStaleBackupCheck } = await import("./outcomes.js");
  const [{ createJobPoller }, { createDayCopyMigration }] = await Promise.all([
    import("../jobs/poller.js"),
    import("./dayCopies.js"),
  ]);
  const dayCopies = createDayCopyMigration({ jobs, cursors, logger });
  const jobPoller = createJobPoller({
    gateway,
    jobs,
    activeJobs,
    cursors,
    logger,
    onFinished: createJobOutcomeHandler({ servers, alerter, logger }),
    maxLookBackInMs: config.historyRetentionDays * 86_400_000,
    knownVaults: async (options) => {
      const vaults = new Set<string>(Object.values(config.vaultMap));
      for await (const s of servers.list({ state: "Protected", ...options }))
        if (s.vaultId) vaults.add(s.vaultId);
      return [...vaults];
    },
  });
  const staleCheck = createStaleBackupCheck({
    servers,
    jobs,
    alerter,
    graceInMs: config.staleGraceHours * 3_600_000,
    intervalInMs: 15 * 60_000,
    periodInMs: (vaultId, policyName) =>
      gateway.getPolicyPeriodInMs?.(vaultId, policyName) ?? Promise.resolve(undefined),
  });

  const { createScheduledBackups } = await import("./scheduled.js");
  const scheduled = createScheduledBackups({
    selectors: config.scheduledBackups,
    cursors,
    backups,
    logger,
    firstLookBackInMs: 5 * 60_000,
    async *selectServers(selector, options) {
      const byBackupTag = selector.tag.toLowerCase() === config.backupTag.toLowerCase();
      for await (const server of servers.list({ state: "Protected", ...options })) {
        if (byBackupTag) {
          if (server.tagValue?.toLowerCase() === selector.value.toLowerCase()) yield server;
          continue;
        }
        // Other tags live on the server in ARM, not in the table.
        const pg = await clients.postgres(server.subscriptionId);
        const live = await pg.servers.get(server.resourceGroup, server.serverName, {
          abortSignal: options.abortSignal,
        });
        const value = Object.entries(live.tags ?? {}).find(
          ([k]) => k.toLowerCase() === selector.tag.toLowerCase(),
        )?.[1];
        if (value?.toLowerCase() === selector.value.toLowerCase()) yield server;
      }
    },
  });

  // Rows older than the cross-server day table are copied once, before the first cycle of each process.
  const poller: typeof jobPoller = {
    async pollOnce(options = {}) {
      await dayCopies.ensure(options);
      return jobPoller.pollOnce(options);
    },
  };

  return {
    api,
    poller,
    staleCheck,
    scheduled,
    alerter,
    /** Removes job rows older than the configured retention. */
    purgeHistory: (now = new Date()) =>
      jobs.deleteStartedBefore(new Date(now.getTime() - config.historyRetentionDays * 86_400_000)),
  };
}

export type BackupApp = Awaited<ReturnType<typeof createBackupApp>>;

let shared: Promise<BackupApp> | undefined;

/** The process-wide app, built from {@link getConfig} on first use. */
export function getBackupApp(): Promise<BackupApp> {
  shared ??= createBackupApp(getConfig()).catch((e: unknown) => {
    shared = undefined;
    throw e;
  });
  return shared;
}

/** For the local host and tests after the environment changed. */
export function resetBackupApp(): void {
  shared = undefined;
}
