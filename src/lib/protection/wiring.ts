/**
 * Adapts the real clients (src/lib/azure, src/lib/store) to the worker's ports, and builds the worker and
 * the event handler from configuration once per process (caches then live as long as the process).
 */
import type { Config } from "../config/index.js";
import type { ArmClients } from "../azure/clients.js";
import { createArmClients } from "../azure/clients.js";
import type { PacingOptions } from "../azure/pacing.js";
import type {
  BackupInstanceResource,
  BaseBackupPolicyResource,
  BackupVaultResource,
  ValidateForBackupRequest,
} from "../azure/dataprotection/models.js";
import { parseVaultId } from "../azure/ids.js";
import { createServersClient } from "../azure/servers.js";
import { createRolesClient } from "../azure/roles.js";
import { isRestError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Alerter } from "../alerts/alerts.js";
import type { StorageConnection } from "../store/connection.js";
import { createStorageConnection } from "../store/connection.js";
import { createServerStore } from "../store/servers.js";
import { createAuditLog } from "../store/audit.js";
import type { BackupInstanceInfo, DataProtectionPort, VaultInfo } from "./ports.js";
import { createProtectionQueue } from "./queueMessages.js";
import { createProtectionWorker, type ProtectionWorker } from "./worker.js";
import { protectionSettingsFromConfig, type ProtectionSettings } from "./settings.js";
import { createResourceEventHandler, type ResourceEventHandler } from "../events/handler.js";

function notFound(e: unknown): boolean {
  return isRestError(e) && e.statusCode === 404;
}

function toVault(v: BackupVaultResource): VaultInfo {
  return {
    id: v.id ?? "",
    name: v.name ?? "",
    location: v.location,
    principalId: v.identity?.principalId,
    tags: v.tags ?? {},
  };
}

function toInstance(r: BackupInstanceResource): BackupInstanceInfo {
  const ds = r.properties?.dataSourceInfo as { resourceID?: string; resourceId?: string } | undefined;
  return {
    id: r.id ?? "",
    name: r.name ?? "",
    dataSourceId: ds?.resourceID ?? ds?.resourceId ?? "",
    policyId: r.properties?.policyInfo?.policyId,
    protectionStatus: r.properties?.protectionStatus?.status,
    currentProtectionState: r.properties?.currentProtectionState,
    provisioningState: r.properties?.provisioningState,
  };
}

/** The worker's Data Protection port on top of `DataProtectionClient` (one client per vault subscription). */
export function createDataProtectionPort(clients: Pick<ArmClients, "dataProtection">): DataProtectionPort {
  const forVault = async (vaultId: string) => {
    const ref = parseVaultId(vaultId);
    return { ref, client: await clients.dataProtection(ref.subscriptionId) };
  };
  return {
    async getVault(vaultId, options = {}) {
      const { ref, client } = await forVault(vaultId);
      try {
        return toVault(await client.backupVaults.get(ref.resourceGroupName, ref.vaultName, options));
      } catch (e) {
        if (notFound(e)) return undefined;
        throw e;
      }
    },
    async *listVaults(subscriptionId, options = {}) {
      const client = await clients.dataProtection(subscriptionId);
      for await (const v of client.backupVaults.listInSubscription(options)) yield toVault(v);
    },
    async getPolicy(vaultId, policyName, options = {}) {
      const { ref, client } = await forVault(vaultId);
      try {
        const p = await client.backupPolicies.get(ref.resourceGroupName, ref.vaultName, policyName, options);
        return p.id ?? `${vaultId}/backupPolicies/${policyName}`;
      } catch (e) {
        if (notFound(e)) return undefined;
        throw e;
      }
    },
    async createPolicy(vaultId, policyName, body, options = {}) {
      const { ref, client } = await forVault(vaultId);
      const p = await client.backupPolicies.createOrUpdate(
        ref.resourceGroupName,
        ref.vaultName,
        policyName,
        body as BaseBackupPolicyResource,
        options,
      );
      return p.id ?? `${vaultId}/backupPolicies/${policyName}`;
    },
    async getBackupInstance(vaultId, instanceName, options = {}) {
      const { ref, client } = await forVault(vaultId);
      try {
        return toInstance(
          await client.backupInstances.get(ref.resourceGroupName, ref.vaultName, instanceName, options),
        );
      } catch (e) {
        if (notFound(e)) return undefined;
        throw e;
      }
    },
    async beginValidateForBackup(vaultId, properties, options = {}) {
      const { ref, client } = await forVault(vaultId);
      const poller = client.backupInstances.beginValidateForBackup(
        ref.resourceGroupName,
        ref.vaultName,
        { backupInstance: properties },
        { abortSignal: options.abortSignal },
      );
      await poller.submitted();
      return poller.serialize();
    },
    async pollValidateForBackup(vaultId, operationState, options = {}) {
      const { ref, client } = await forVault(vaultId);
      // Resuming sends no request body: the operation's URLs are in the serialized state.
      const poller = client.backupInstances.beginValidateForBackup(
        ref.resourceGroupName,
        ref.vaultName,
        { backupInstance: {} as ValidateForBackupRequest["backupInstance"] },
        { abortSignal: options.abortSignal, resumeFrom: operationState },
      );
      await poller.poll({ abortSignal: options.abortSignal });
      return { done: poller.isDone, operationState: await poller.serialize() };
    },
    async createBackupInstance(vaultId, instanceName, properties, options = {}) {
      const { ref, client } = await forVault(vaultId);
      // Only the PUT: whether protection is configured shows on the instance itself, which the worker
      // reads next, so following the operation's status URL would be extra requests.
      const poller = client.backupInstances.beginCreateOrUpdate(
        ref.resourceGroupName,
        ref.vaultName,
        instanceName,
        { properties },
        { abortSignal: options.abortSignal },
      );
      await poller.submitted();
      return undefined;
    },
  };
}

/**
 * ARM's buckets (reads 250 + 25/s, writes 200 + 10/s) at the emulator's speed when PGFLEX_TIME_SCALE > 1,
 * so a time-scaled run is paced like Azure in emulated time; undefined (the defaults) otherwise.
 */
export function scaledPacing(timeScale: number): PacingOptions | undefined {
  if (timeScale <= 1) return undefined;
  return {
    reads: { burst: 250, perSecond: 25 * timeScale },
    writes: { burst: 200, perSecond: 10 * timeScale },
    // The emulator already answers retry-after-ms in real time: no scaling of service waits here.
  };
}

export interface ProtectionRuntime {
  worker: ProtectionWorker;
  events: ResourceEventHandler;
  settings: ProtectionSettings;
}

export interface ProtectionRuntimeOptions {
  connection?: StorageConnection;
  clients?: ArmClients;
  /** Scaled durations for tests and the local host. */
  overrides?: Partial<ProtectionSettings>;
  logger?: Logger;
  /** Where `ProtectionFailed` alerts go; default: the configured topic and webhook (see createConfiguredAlerter). */
  alerter?: Pick<Alerter, "raise">;
}

/** Builds the worker and the event handler from configuration. */
export async function createProtectionRuntime(
  config: Config,
  options: ProtectionRuntimeOptions = {},
): Promise<ProtectionRuntime> {
  const clients =
    options.clients ?? createArmClients(config, { pacing: scaledPacing(config.timeScale ?? 1) });
  // In Azure, Storage is identity-based and shares the ARM credential.
  const connection =
    options.connection ??
    createStorageConnection(
      config,
      config.storageConnection ? {} : { credential: await clients.credential() },
    );
  const settings = protectionSettingsFromConfig(config, options.overrides);
  const queue = createProtectionQueue(connection);
  const servers = createServerStore(connection);
  const { createConfiguredAlerter } = await import("../alerts/configured.js");
  const alerter =
    options.alerter ??
    (await createConfiguredAlerter(config, {
      connection,
      credential: () => clients.credential(),
      logger: options.logger,
    }));
  const worker = createProtectionWorker({
    servers,
    audit: createAuditLog(connection),
    queue,
    arm: {
      servers: createServersClient(clients),
      roles: createRolesClient(clients),
      dataProtection: createDataProtectionPort(clients),
    },
    settings,
    logger: options.logger,
    alerter,
  });
  const events = createResourceEventHandler({
    queue,
    servers,
    scopes: config.scopes,
    backupTag: config.backupTag,
    logger: options.logger,
  });
  return { worker, events, settings };
}

let cached: { config: Config; runtime: Promise<ProtectionRuntime> } | undefined;

/**
 * One runtime per process and configuration, so vault and policy caches serve every invocation; a new
 * configuration object (the local host reloads settings) builds a new runtime.
 */
export function getProtectionRuntime(config: Config): Promise<ProtectionRuntime> {
  if (cached?.config !== config) {
    const runtime = createProtectionRuntime(config);
    cached = { config, runtime };
    runtime.catch(() => {
      if (cached?.runtime === runtime) cached = undefined;
    });
  }
  return cached.runtime;
}

/** For tests that change configuration between runs. */
export function resetProtectionRuntime(): void {
  cached = undefined;
}
