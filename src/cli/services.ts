import type { Config } from "../lib/config/index.js";
import { createArmClients, type ArmClients } from "../lib/azure/clients.js";
import { createInventorySource } from "../lib/azure/inventory/armReaders.js";
import { createServersClient } from "../lib/azure/servers.js";
import { createRolesClient } from "../lib/azure/roles.js";
import { createAzureBackupGateway } from "../lib/backups/azureGateway.js";
import type { BackupGateway } from "../lib/backups/gateway.js";
import { createSweeper, sweepConfigFrom, type SweepReport } from "../lib/compliance/sweeper.js";
import { silentLogger } from "../lib/logger.js";
import { createProtectionWorker, type ProtectionWorker } from "../lib/protection/worker.js";
import { createDataProtectionPort, scaledPacing } from "../lib/protection/wiring.js";
import type { DataProtectionPort, RolesPort, ServersPort } from "../lib/protection/ports.js";
import { protectionSettingsFromConfig } from "../lib/protection/settings.js";
import type { ProtectionMessage } from "../lib/protection/queueMessages.js";
import { createInMemoryServerStore, type ServerRecord } from "../lib/store/servers.js";
import { createInMemoryAuditLog } from "../lib/store/audit.js";
import { createInMemorySweepStore } from "../lib/store/sweeps.js";

/**
 * What the CLI does, on src/lib directly against ARM: the sweep classifies in this process (nothing is
 * written to the app's tables), protection runs the app's own worker in this process, backups and jobs go
 * through the same Data Protection gateway as the app.
 */
export interface CliServices {
  readonly config: Config;
  /** Inventory and classify every server in scope; `remediate` receives each server enforce mode would protect. */
  sweep(options: {
    dryRun: boolean;
    remediate?: (serverId: string) => Promise<void>;
    abortSignal?: AbortSignal;
  }): Promise<SweepReport>;
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
}

export function createCliServices(config: Config, options: { clients?: ArmClients } = {}): CliServices {
  const clients =
    options.clients ?? createArmClients(config, { pacing: scaledPacing(config.timeScale ?? 1) });
  const dataProtection = createDataProtectionPort(clients);
  const roles = createRolesClient(clients);
  const servers = createServersClient(clients);
  return {
    config,
    clients,
    dataProtection,
    roles,
    servers,
    backups: createAzureBackupGateway(clients),
    async sweep({ dryRun, remediate, abortSignal }) {
      const sweeper = createSweeper({
        inventory: createInventorySource(clients, config.useResourceGraph),
        store: createInMemorySweepStore(),
        config: sweepConfigFrom(config),
        enqueueProtection: async (request) => {
          await remediate?.(request.serverId);
        },
        logger: silentLogger,
        remediationConcurrency: 1,
      });
      return sweeper.runSweep({ dryRun, cause: "cli", ...(abortSignal ? { abortSignal } : {}) });
    },
    protectionWorker() {
      const store = createInMemoryServerStore();
      const queued: Array<{ message: ProtectionMessage; delayInMs: number }> = [];
      const worker = createProtectionWorker({
        servers: store,
        audit: createInMemoryAuditLog(),
        queue: {
          async send(message, sendOptions = {}) {
            queued.push({ message, delayInMs: sendOptions.visibilityTimeoutInMs ?? 0 });
          },
        },
        arm: { servers, roles, dataProtection },
        settings: protectionSettingsFromConfig(config),
        logger: silentLogger,
      });
      return { worker, queued, row: (serverId) => store.get(serverId) };
    },
  };
}
