import type { Config } from "../config/index.js";
import { getConfig } from "../config/index.js";
import type { Logger } from "../logger.js";
import { createConsoleLogger } from "../logger.js";
import type { SweepsApi } from "./api.js";
import type { Sweeper, SweepScopeMessage } from "./sweeper.js";
import type { ArmClients } from "../azure/clients.js";
import type { SweepStore } from "../store/sweeps.js";

export interface ComplianceApp {
  sweeper: Sweeper;
  api: SweepsApi;
  /** The sweep tables (benchmarks read `requestCount`: the report's Table requests). */
  store: SweepStore;
  /** Removes sweeps (summaries, rows, scope results) older than PGFLEX_HISTORY_RETENTION_DAYS; the ids removed. */
  purgeSweeps(now?: Date): Promise<string[]>;
}

/**
 * Composition root of compliance sweeps: inventory (Resource Graph or ARM lists, per
 * PGFLEX_USE_RESOURCE_GRAPH), the sweep tables, the `sweep-scopes` queue and the protection queue
 * the auto-protection worker consumes. Heavy modules load on first use.
 */
export interface ComplianceAppOptions {
  logger?: Logger;
  /** Default: `createArmClients(config)`; tests pass clients with faster pacing. */
  clients?: ArmClients;
}

export async function createComplianceApp(
  config: Config,
  options: ComplianceAppOptions = {},
): Promise<ComplianceApp> {
  const logger = options.logger ?? createConsoleLogger("compliance");
  const [
    { createStorageConnection },
    { createQueueSender, QueueNames },
    { createSweepStore },
    { createServerStore },
  ] = await Promise.all([
    import("../store/connection.js"),
    import("../store/queues.js"),
    import("../store/sweeps.js"),
    import("../store/servers.js"),
  ]);
  const { createArmClients } = await import("../azure/clients.js");
  const { createInventorySource } = await import("../azure/inventory/armReaders.js");
  const { createProtectionQueue, enqueueProtection } = await import("../protection/queueMessages.js");
  const { createSweeper, sweepConfigFrom } = await import("./sweeper.js");
  const { createSweepsApi } = await import("./api.js");

  const clients = options.clients ?? createArmClients(config);
  const connection = createStorageConnection(
    config,
    config.storageConnection ? {} : { credential: await clients.credential() },
  );
  const protectionQueue = createProtectionQueue(connection);
  const servers = createServerStore(connection);
  const store = createSweepStore(connection);
  const sweeper = createSweeper({
    inventory: createInventorySource(clients, config.useResourceGraph),
    store,
    config: sweepConfigFrom(config),
    enqueueProtection: async (request, options) => {
      await enqueueProtection(
        protectionQueue,
        request.serverId,
        { kind: "sweep", sweepId: request.sweepId },
        options,
      );
    },
    scopeQueue: createQueueSender<SweepScopeMessage>(connection, QueueNames.sweepScopes),
    listServerRecords: async function* (options) {
      // Protected rows carry protectedAt, so a new instance is not called stale before its first backup is due.
      for (const state of [
        "Failed",
        "MissingPermissions",
        "NoVaultForRegion",
        "UnknownPolicyTag",
        "Protected",
      ] as const) {
        yield* servers.list({ state, ...options });
      }
    },
    logger,
  });
  return {
    sweeper,
    api: createSweepsApi({ sweeper }, { logger }),
    store,
    purgeSweeps: (now = new Date()) =>
      store.deleteSweepsStartedBefore(new Date(now.getTime() - config.historyRetentionDays * 86_400_000)),
  };
}

let shared: Promise<ComplianceApp> | undefined;

/** One app per process, built from the process configuration. */
export function getComplianceApp(): Promise<ComplianceApp> {
  shared ??= createComplianceApp(getConfig()).catch((e: unknown) => {
    shared = undefined;
    throw e;
  });
  return shared;
}

/** For the local host and tests after the environment changed. */
export function resetComplianceApp(): void {
  shared = undefined;
}
