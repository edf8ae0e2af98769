export {
  DataProtectionClient,
  createDataProtectionClient,
  BackupVaults,
  BackupPolicies,
  BackupInstances,
  DeletedBackupInstances,
  Jobs,
  OperationStatus,
  OperationStatusBackupVaultContext,
  OperationResult,
} from "./client.js";
export type {
  DataProtectionClientOptions,
  DataProtectionPoller,
  JobsListOptions,
  LroOperationOptions,
  OperationOptions,
} from "./client.js";
export * from "./models.js";
export { statusIs, jobOutcome } from "./status.js";
export type { JobOutcome } from "./status.js";
export { pgFlexWeeklyPolicy, pgFlexBackupRuleName, pgFlexDefaultRetentionTag } from "./policies.js";
export type { PgFlexWeeklyPolicyOptions } from "./policies.js";
export { knownArmErrorCodes, isArmRestError, createArmError } from "../arm-error.js";
export type { ArmRestError, ArmErrorDetail } from "../arm-error.js";
export {
  normalizeJobId,
  parseVaultId,
  vaultId,
  backupInstanceId,
  backupJobId,
  backupPolicyId,
} from "../ids.js";
