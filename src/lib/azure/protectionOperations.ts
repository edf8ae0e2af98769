/**
 * The Data Protection calls auto-protection makes (vaults, policies, backup instances), over the app's
 * `DataProtectionClient` with one client per vault subscription. Answers are reduced to the few fields
 * protection decides on.
 */
import type { ArmClients } from "./clients.js";
import type {
  BackupInstanceResource,
  BaseBackupPolicyResource,
  BackupVaultResource,
  DeletedBackupInstanceResource,
  ValidateForBackupRequest,
} from "./dataprotection/models.js";
import { parseVaultId } from "./ids.js";
import { isNotFound } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";

/** Waits until ARM accepted the operation; its serialized state lets a later call resume polling it. */
async function submittedState(poller: {
  submitted(): Promise<void>;
  serialize(): Promise<string>;
}): Promise<string> {
  await poller.submitted();
  return poller.serialize();
}

export type ProtectionOperationOptions = OperationOptions;

export interface VaultInfo {
  id: string;
  name: string;
  /** Region as ARM spells it; normalise before comparing. */
  location: string;
  /** `identity.principalId` of the vault's system-assigned identity. */
  principalId?: string;
  tags: Record<string, string>;
}

export interface BackupInstanceInfo {
  id: string;
  name: string;
  /** `properties.dataSourceInfo.resourceID` (or `resourceId`). */
  dataSourceId: string;
  policyId?: string;
  /** `properties.protectionStatus.status`, e.g. `ConfiguringProtection`, `ProtectionConfigured`, `ProtectionError`. */
  protectionStatus?: string;
  /** `properties.currentProtectionState`. */
  currentProtectionState?: string;
  provisioningState?: string;
}

/** A soft-deleted backup instance (`deletedBackupInstances`): it keeps its name until it is purged. */
export interface DeletedBackupInstanceInfo {
  id: string;
  name: string;
  /** `properties.dataSourceInfo.resourceID` (or `resourceId`). */
  dataSourceId: string;
  policyId?: string;
  /** `properties.deletionInfo.scheduledPurgeTime`: when the name and the recovery points go for good. */
  scheduledPurgeTime?: string;
}

/** Body of validateForBackup and of the backup instance PUT (`properties`). */
export interface BackupInstanceProperties {
  friendlyName: string;
  objectType: "BackupInstance";
  dataSourceInfo: {
    objectType: "Datasource";
    datasourceType: "Microsoft.DBforPostgreSQL/flexibleServers";
    resourceID: string;
    resourceName: string;
    resourceType: "Microsoft.DBforPostgreSQL/flexibleServers";
    resourceLocation: string;
    resourceUri: string;
  };
  policyInfo: { policyId: string };
}

/** Errors carry the ARM `code` (e.g. `UserErrorMissingRequiredPermissions`) and `statusCode`. */
export interface ProtectionOperations {
  getVault(vaultId: string, options?: ProtectionOperationOptions): Promise<VaultInfo | undefined>;
  /** Vaults of a subscription (discovery by marker tag). */
  listVaults(subscriptionId: string, options?: ProtectionOperationOptions): AsyncIterable<VaultInfo>;
  /** The policy id, or undefined when the policy does not exist. */
  getPolicy(
    vaultId: string,
    policyName: string,
    options?: ProtectionOperationOptions,
  ): Promise<string | undefined>;
  /** Creates (PUT) the policy; returns its id. */
  createPolicy(
    vaultId: string,
    policyName: string,
    body: unknown,
    options?: ProtectionOperationOptions,
  ): Promise<string>;
  getBackupInstance(
    vaultId: string,
    instanceName: string,
    options?: ProtectionOperationOptions,
  ): Promise<BackupInstanceInfo | undefined>;
  /** POST validateForBackup; returns the serialized operation (poller state) to check later. */
  beginValidateForBackup(
    vaultId: string,
    properties: BackupInstanceProperties,
    options?: ProtectionOperationOptions,
  ): Promise<string>;
  /**
   * One status read of a validation started by {@link beginValidateForBackup}; throws the operation's ARM
   * error (e.g. `UserErrorMissingRequiredPermissions`) when it failed.
   */
  pollValidateForBackup(
    vaultId: string,
    operationState: string,
    options?: ProtectionOperationOptions,
  ): Promise<{ done: boolean; operationState: string }>;
  /**
   * PUT the backup instance (the deterministic name makes a repeat an update). Returns the instance when
   * the answer carried it; the caller then reads it until `ProtectionConfigured`.
   */
  createBackupInstance(
    vaultId: string,
    instanceName: string,
    properties: BackupInstanceProperties,
    options?: ProtectionOperationOptions,
  ): Promise<BackupInstanceInfo | undefined>;
  /** The soft-deleted instance holding `instanceName`, or undefined when the name is free. */
  getDeletedBackupInstance(
    vaultId: string,
    instanceName: string,
    options?: ProtectionOperationOptions,
  ): Promise<DeletedBackupInstanceInfo | undefined>;
  /** POST undelete of a soft-deleted instance; returns the serialized operation to check later. */
  beginUndeleteBackupInstance(
    vaultId: string,
    instanceName: string,
    options?: ProtectionOperationOptions,
  ): Promise<string>;
  /** POST resumeProtection of a `ProtectionStopped` instance; returns the serialized operation. */
  beginResumeProtection(
    vaultId: string,
    instanceName: string,
    options?: ProtectionOperationOptions,
  ): Promise<string>;
  /**
   * One status read of an undelete or resume started above; throws the operation's ARM error when it
   * failed.
   */
  pollInstanceOperation(
    vaultId: string,
    operationState: string,
    options?: ProtectionOperationOptions,
  ): Promise<{ done: boolean; operationState: string }>;
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

function toDeletedInstance(r: DeletedBackupInstanceResource): DeletedBackupInstanceInfo {
  const ds = r.properties?.dataSourceInfo as { resourceID?: string; resourceId?: string } | undefined;
  return {
    id: r.id ?? "",
    name: r.name ?? "",
    dataSourceId: ds?.resourceID ?? ds?.resourceId ?? "",
    policyId: r.properties?.policyInfo?.policyId,
    scheduledPurgeTime: r.properties?.deletionInfo?.scheduledPurgeTime,
  };
}

export function createProtectionOperations(
  clients: Pick<ArmClients, "dataProtection">,
): ProtectionOperations {
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
        if (isNotFound(e)) return undefined;
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
        if (isNotFound(e)) return undefined;
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
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async beginValidateForBackup(vaultId, properties, options = {}) {
      const { ref, client } = await forVault(vaultId);
      const poller = client.backupInstances.beginValidateForBackup(
        ref.resourceGroupName,
        ref.vaultName,
        { backupInstance: properties },
        // Only the outcome counts (the status resource says it, with the error when validation fails): the
        // final GET of the job reference would be one more ARM read per protection, and in a burst the
        // read bucket binds as tightly as the write bucket.
        { abortSignal: options.abortSignal, skipFinalGet: true },
      );
      return submittedState(poller);
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
    async getDeletedBackupInstance(vaultId, instanceName, options = {}) {
      const { ref, client } = await forVault(vaultId);
      try {
        return toDeletedInstance(
          await client.deletedBackupInstances.get(
            ref.resourceGroupName,
            ref.vaultName,
            instanceName,
            options,
          ),
        );
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async beginUndeleteBackupInstance(vaultId, instanceName, options = {}) {
      const { ref, client } = await forVault(vaultId);
      const poller = client.deletedBackupInstances.beginUndelete(
        ref.resourceGroupName,
        ref.vaultName,
        instanceName,
        { abortSignal: options.abortSignal },
      );
      return submittedState(poller);
    },
    async beginResumeProtection(vaultId, instanceName, options = {}) {
      const { ref, client } = await forVault(vaultId);
      const poller = client.backupInstances.beginResumeProtection(
        ref.resourceGroupName,
        ref.vaultName,
        instanceName,
        { abortSignal: options.abortSignal },
      );
      return submittedState(poller);
    },
    async pollInstanceOperation(vaultId, operationState, options = {}) {
      const { ref, client } = await forVault(vaultId);
      // The operation's URLs are in the serialized state: the path of the resumed call is not used.
      const poller = client.backupInstances.beginResumeProtection(ref.resourceGroupName, ref.vaultName, "-", {
        abortSignal: options.abortSignal,
        resumeFrom: operationState,
      });
      await poller.poll({ abortSignal: options.abortSignal });
      return { done: poller.isDone, operationState: await poller.serialize() };
    },
  };
}
