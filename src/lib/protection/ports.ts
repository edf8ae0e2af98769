/**
 * What protection needs from Azure, as small interfaces: the worker is built and unit-tested against
 * these; `wiring.ts` adapts the real clients (src/lib/azure) to them.
 */
import type { FlexibleServerInfo } from "../azure/servers.js";
import type { RoleAssignmentInfo } from "../azure/roles.js";
import type { OperationOptions } from "../util/options.js";

export type { FlexibleServerInfo, RoleAssignmentInfo };

export type CallOptions = OperationOptions;

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

export interface ServersPort {
  getServer(resourceId: string, options?: CallOptions): Promise<FlexibleServerInfo | undefined>;
}

export interface RolesPort {
  listForPrincipal(
    scope: string,
    principalId: string,
    options?: CallOptions,
  ): AsyncIterable<RoleAssignmentInfo>;
  createAssignment(
    scope: string,
    roleDefinitionGuid: string,
    principalId: string,
    options?: CallOptions,
  ): Promise<void>;
}

/** Errors carry the ARM `code` (e.g. `UserErrorMissingRequiredPermissions`) and `statusCode`. */
export interface DataProtectionPort {
  getVault(vaultId: string, options?: CallOptions): Promise<VaultInfo | undefined>;
  /** Vaults of a subscription (discovery by marker tag). */
  listVaults(subscriptionId: string, options?: CallOptions): AsyncIterable<VaultInfo>;
  /** The policy id, or undefined when the policy does not exist. */
  getPolicy(vaultId: string, policyName: string, options?: CallOptions): Promise<string | undefined>;
  /** Creates (PUT) the policy; returns its id. */
  createPolicy(vaultId: string, policyName: string, body: unknown, options?: CallOptions): Promise<string>;
  getBackupInstance(
    vaultId: string,
    instanceName: string,
    options?: CallOptions,
  ): Promise<BackupInstanceInfo | undefined>;
  /** POST validateForBackup; returns the serialized operation (poller state) to check later. */
  beginValidateForBackup(
    vaultId: string,
    properties: BackupInstanceProperties,
    options?: CallOptions,
  ): Promise<string>;
  /**
   * One status read of a validation started by {@link beginValidateForBackup}; throws the operation's ARM
   * error (e.g. `UserErrorMissingRequiredPermissions`) when it failed.
   */
  pollValidateForBackup(
    vaultId: string,
    operationState: string,
    options?: CallOptions,
  ): Promise<{ done: boolean; operationState: string }>;
  /**
   * PUT the backup instance (the deterministic name makes a repeat an update). Returns the instance when
   * the answer carried it; the caller then reads it until `ProtectionConfigured`.
   */
  createBackupInstance(
    vaultId: string,
    instanceName: string,
    properties: BackupInstanceProperties,
    options?: CallOptions,
  ): Promise<BackupInstanceInfo | undefined>;
}
