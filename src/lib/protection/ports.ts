/**
 * What protection needs from Azure, as small interfaces: the worker is built and unit-tested against
 * these; `src/lib/azure` provides the real ones and `src/lib/app.ts` passes them in.
 */
import type { FlexibleServerInfo } from "../azure/servers.js";
import type { RoleAssignmentInfo } from "../azure/roles.js";
import type {
  BackupInstanceInfo,
  BackupInstanceProperties,
  DeletedBackupInstanceInfo,
  ProtectionOperations,
  VaultInfo,
} from "../azure/protectionOperations.js";
import type { OperationOptions } from "../util/options.js";

export type {
  BackupInstanceInfo,
  BackupInstanceProperties,
  DeletedBackupInstanceInfo,
  FlexibleServerInfo,
  RoleAssignmentInfo,
  VaultInfo,
};

export type CallOptions = OperationOptions;

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

/** What the worker needs from Data Protection: the operations `src/lib/azure` provides. */
export type DataProtectionPort = ProtectionOperations;
