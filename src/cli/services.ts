import type { Config } from "../lib/config/index.js";
import { createApp, createAzureOperations, type App } from "../lib/app.js";
import type { Alerter } from "../lib/alerts/alerts.js";
import type { ArmClients } from "../lib/azure/clients.js";
import type { BackupGateway } from "../lib/backups/gateway.js";
import type { SweepReport } from "../lib/compliance/sweeper.js";
import { silentLogger } from "../lib/logger.js";
import type { ProtectionWorker } from "../lib/protection/worker.js";
import type { DataProtectionPort, RolesPort, ServersPort } from "../lib/protection/ports.js";
import type { ProtectionMessage } from "../lib/protection/queueMessages.js";
import { createInMemoryServerStore, type ServerRecord } from "../lib/store/servers.js";
import { createInMemoryAuditLog } from "../lib/store/audit.js";
import { createInMemorySweepStore } from "../lib/store/sweeps.js";
import { createInMemoryRestoreStore } from "../lib/store/restores.js";
import type { RestoreService } from "../lib/restore/service.js";
import type { RestoreTestService } from "../lib/restoreTests/model.js";
import { parseServerId } from "../lib/domain/serverId.js";
import type { OperationOptions } from "../lib/util/options.js";

/**
 * What the CLI does, on the app's own capabilities against ARM: the sweep classifies in this process
 * (nothing is written to the app's tables), protection runs the app's worker in this process, backups and
 * jobs go through the same Data Protection operations as the app.
 */
export interface CliSweepOptions extends OperationOptions {
  dryRun: boolean;
  remediate?: (serverId: string) => Promise<void>;
}

export interface CliServices {
  readonly config: Config;
  /** Inventory and classify every server in scope; `remediate` receives each server enforce mode would protect. */
  sweep(options: CliSweepOptions): Promise<SweepReport>;
  /** A protection worker with its own in-memory row store; `queued` collects its retry-later messages. */
  protectionWorker(): {
    worker: ProtectionWorker;
    queued: Array<{ message: ProtectionMessage; delayInMs: number }>;
    row(serverId: string): Promise<ServerRecord | undefined>;
  };
  readonly backups: BackupGateway;
  readonly dataProtection: DataProtectionPort;
  readonly roles: RolesPort;
  readonly servers: ServersPort;
  readonly clients: ArmClients;
  /**
   * The app's restore service for one protected server (its backup instance as the sweep found it), over
   * in-memory stores: the CLI starts and follows the restore itself.
   */
  restoreService(server: {
    serverId: string;
    vaultId: string;
    instanceName: string;
  }): Promise<RestoreService>;
  /**
   * The app's restore tests over its own tables (the configured Storage): a test the CLI runs is recorded
   * and compared like the app's, and the app's timers may move it on too.
   */
  restoreTests(): Promise<RestoreTestService>;
}

/** The CLI reports failures in its own output; it raises no alerts. */
const noAlerts: Alerter = {
  raise: async () => false,
  retryPending: async () => 0,
};

export function createCliServices(config: Config, options: { clients?: ArmClients } = {}): CliServices {
  const azure = createAzureOperations(config, options.clients);
  // Every app of this process shares the clients, hence one pacer; Storage is replaced by memory.
  const inMemoryApp = (overrides: Parameters<typeof createApp>[1] = {}): Promise<App> =>
    createApp(config, { clients: azure.clients, logger: silentLogger, alerter: noAlerts, ...overrides });
  return {
    config,
    clients: azure.clients,
    dataProtection: azure.protection,
    roles: azure.roles,
    servers: azure.servers,
    backups: azure.backups,
    async sweep({ dryRun, remediate, abortSignal }) {
      const app = await inMemoryApp({
        stores: { servers: createInMemoryServerStore(), sweeps: createInMemorySweepStore() },
        enqueueProtection: async (request) => {
          await remediate?.(request.serverId);
        },
        remediationConcurrency: 1,
      });
      return app.compliance.sweeper.runSweep({
        dryRun,
        cause: "cli",
        ...(abortSignal ? { abortSignal } : {}),
      });
    },
    async restoreService(server) {
      const ref = parseServerId(server.serverId);
      if (!ref) throw new TypeError(`"${server.serverId}" is not a server id.`);
      const servers = createInMemoryServerStore();
      await servers.create({
        resourceId: ref.resourceId,
        subscriptionId: ref.subscriptionId,
        resourceGroup: ref.resourceGroup,
        serverName: ref.serverName,
        vaultId: server.vaultId,
        instanceName: server.instanceName,
        state: "Protected",
        attempts: 0,
        updatedAt: new Date().toISOString(),
      });
      const app = await inMemoryApp({
        stores: {
          servers,
          audit: createInMemoryAuditLog(),
          sweeps: createInMemorySweepStore(),
          restores: createInMemoryRestoreStore(),
        },
      });
      return app.restore.service;
    },
    async restoreTests() {
      return (await createApp(config, { clients: azure.clients, logger: silentLogger })).restoreTests.service;
    },
    protectionWorker() {
      const servers = createInMemoryServerStore();
      const queued: Array<{ message: ProtectionMessage; delayInMs: number }> = [];
      const app = inMemoryApp({
        stores: {
          servers,
          audit: createInMemoryAuditLog(),
          protectionQueue: {
            async send(message, sendOptions = {}) {
              queued.push({ message, delayInMs: sendOptions.visibilityTimeoutInMs ?? 0 });
            },
          },
        },
      });
      const worker: ProtectionWorker = {
        process: async (message, processOptions) =>
          (await app).protection.worker.process(message, processOptions),
        recordPoison: async (message, reason, dequeueCount) =>
          (await app).protection.worker.recordPoison(message, reason, dequeueCount),
      };
      return { worker, queued, row: (serverId) => servers.get(serverId) };
    },
  };
}
