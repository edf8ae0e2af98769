/**
 * Body shapes of Microsoft.DataProtection api-version 2024-04-01 (dataprotection.json), limited to the
 * operations this app calls. Names follow the official `@azure/arm-dataprotection` models so the client can be
 * swapped for the SDK later. Every field the service may omit is optional, as in the spec.
 */

export const dataProtectionApiVersion = "2024-04-01";
export const pgFlexDatasourceType = "Microsoft.DBforPostgreSQL/flexibleServers";

export interface SystemData {
  createdBy?: string;
  createdByType?: string;
  createdAt?: string;
  lastModifiedBy?: string;
  lastModifiedByType?: string;
  lastModifiedAt?: string;
}

export interface ProxyResource {
  readonly id?: string;
  readonly name?: string;
  readonly type?: string;
  readonly systemData?: SystemData;
}

export interface DppIdentityDetails {
  /** Object id of the vault's system-assigned identity: the principal that needs the backup roles. */
  readonly principalId?: string;
  readonly tenantId?: string;
  /** "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned" or "None". */
  type?: string;
  userAssignedIdentities?: Record<string, { readonly principalId?: string; readonly clientId?: string }>;
}

export interface StorageSetting {
  datastoreType?: "ArchiveStore" | "OperationalStore" | "VaultStore" | (string & {});
  type?: "GeoRedundant" | "LocallyRedundant" | "ZoneRedundant" | (string & {});
}

export interface BackupVault {
  readonly provisioningState?: string;
  readonly resourceMoveState?: string;
  storageSettings: StorageSetting[];
  monitoringSettings?: Record<string, unknown>;
  securitySettings?: Record<string, unknown>;
  featureSettings?: Record<string, unknown>;
  readonly isVaultProtectedByResourceGuard?: boolean;
  readonly secureScore?: string;
  readonly bcdrSecurityLevel?: string;
  replicatedRegions?: string[];
}

export interface BackupVaultResource extends ProxyResource {
  location: string;
  tags?: Record<string, string>;
  identity?: DppIdentityDetails;
  eTag?: string;
  properties: BackupVault;
}

export interface DataStoreInfoBase {
  dataStoreType: "OperationalStore" | "VaultStore" | "ArchiveStore";
  objectType: string;
}

export interface RetentionTag {
  readonly eTag?: string;
  readonly id?: string;
  tagName: string;
}

export interface TaggingCriteria {
  criteria?: Array<Record<string, unknown> & { objectType: string }>;
  isDefault: boolean;
  taggingPriority: number;
  tagInfo: RetentionTag;
}

export interface BackupSchedule {
  /** ISO 8601 repeating intervals, e.g. `R/2024-01-07T02:00:00+00:00/P1W` (PG Flexible supports weekly). */
  repeatingTimeIntervals: string[];
  timeZone?: string;
}

export interface ScheduleBasedTriggerContext {
  objectType: "ScheduleBasedTriggerContext";
  schedule: BackupSchedule;
  taggingCriteria: TaggingCriteria[];
}

export interface AdhocBasedTriggerContext {
  objectType: "AdhocBasedTriggerContext";
  taggingCriteria: { tagInfo?: RetentionTag };
}

export interface AzureBackupRule {
  objectType: "AzureBackupRule";
  name: string;
  backupParameters?: { objectType: "AzureBackupParams"; backupType: string };
  dataStore: DataStoreInfoBase;
  trigger: ScheduleBasedTriggerContext | AdhocBasedTriggerContext;
}

export interface SourceLifeCycle {
  deleteAfter: { objectType: "AbsoluteDeleteOption"; duration: string };
  sourceDataStore: DataStoreInfoBase;
  targetDataStoreCopySettings?: Array<{ copyAfter: { objectType: string }; dataStore: DataStoreInfoBase }>;
}

export interface AzureRetentionRule {
  objectType: "AzureRetentionRule";
  name: string;
  isDefault?: boolean;
  lifecycles: SourceLifeCycle[];
}

export type BasePolicyRule = AzureBackupRule | AzureRetentionRule;

export interface BackupPolicy {
  objectType: "BackupPolicy";
  /** For PG Flexible: `["Microsoft.DBforPostgreSQL/flexibleServers"]`. */
  datasourceTypes: string[];
  policyRules: BasePolicyRule[];
}

/** `BaseBackupPolicy` is polymorphic on `objectType`; `BackupPolicy` is its only kind. */
export type BaseBackupPolicy = BackupPolicy;

export interface BaseBackupPolicyResource extends ProxyResource {
  properties?: BaseBackupPolicy;
}

export interface Datasource {
  datasourceType?: string;
  objectType?: string;
  /** The service spells it `resourceID` in responses; requests may use either spelling. */
  resourceID: string;
  resourceLocation?: string;
  resourceName?: string;
  resourceType?: string;
  resourceUri?: string;
  resourceProperties?: { objectType: string } & Record<string, unknown>;
}

export interface PolicyInfo {
  policyId: string;
  readonly policyVersion?: string;
  policyParameters?: Record<string, unknown>;
}

export interface InnerError {
  additionalInfo?: Record<string, string>;
  code?: string;
  embeddedInnerError?: InnerError;
}

export interface UserFacingError {
  code?: string;
  details?: UserFacingError[];
  innerError?: InnerError;
  isRetryable?: boolean;
  isUserError?: boolean;
  properties?: Record<string, string>;
  message?: string;
  recommendedAction?: string[];
  target?: string;
}

export type ProtectionStatus =
  | "ConfiguringProtection"
  | "ConfiguringProtectionFailed"
  | "ProtectionConfigured"
  | "ProtectionStopped"
  | "SoftDeleted"
  | "SoftDeleting";

export type CurrentProtectionState =
  | "Invalid"
  | "NotProtected"
  | "ConfiguringProtection"
  | "ProtectionConfigured"
  | "BackupSchedulesSuspended"
  | "RetentionSchedulesSuspended"
  | "ProtectionStopped"
  | "ProtectionError"
  | "ConfiguringProtectionFailed"
  | "SoftDeleting"
  | "SoftDeleted"
  | "UpdatingProtection";

export interface ProtectionStatusDetails {
  errorDetails?: UserFacingError;
  status?: ProtectionStatus | (string & {});
}

export interface BackupInstance {
  friendlyName?: string;
  dataSourceInfo: Datasource;
  dataSourceSetInfo?: Omit<Datasource, "resourceID"> & { resourceID: string };
  policyInfo: PolicyInfo;
  readonly protectionStatus?: ProtectionStatusDetails;
  readonly currentProtectionState?: CurrentProtectionState | (string & {});
  readonly protectionErrorDetails?: UserFacingError;
  readonly provisioningState?: string;
  datasourceAuthCredentials?: Record<string, unknown>;
  validationType?: "ShallowValidation" | "DeepValidation";
  identityDetails?: { useSystemAssignedIdentity?: boolean; userAssignedIdentityArmUrl?: string };
  objectType: string;
}

export interface BackupInstanceResource extends ProxyResource {
  tags?: Record<string, string>;
  properties?: BackupInstance;
}

export interface DeletedBackupInstanceResource extends ProxyResource {
  properties?: BackupInstance & {
    readonly deletionInfo?: {
      readonly billingEndDate?: string;
      readonly deleteActivityID?: string;
      readonly deletionTime?: string;
      readonly scheduledPurgeTime?: string;
    };
  };
}

export interface ValidateForBackupRequest {
  backupInstance: BackupInstance;
}

export interface AdhocBackupTriggerOption {
  /** Retention tag (a policy tag name such as "Default") that decides how long this backup is kept. */
  retentionTagOverride?: string;
}

export interface AdHocBackupRuleOptions {
  /** Name of the policy's backup rule, e.g. "BackupWeekly". */
  ruleName: string;
  triggerOption: AdhocBackupTriggerOption;
}

export interface TriggerBackupRequest {
  backupRuleOptions: AdHocBackupRuleOptions;
}

/** Result of a finished POST operation; `jobId` is a full ARM id or a bare GUID depending on the service. */
export interface OperationJobExtendedInfo {
  objectType: "OperationJobExtendedInfo" | (string & {});
  jobId?: string;
}

export interface OperationResource {
  endTime?: string;
  error?: { code?: string; message?: string; target?: string; details?: unknown[] };
  id?: string;
  name?: string;
  properties?: OperationJobExtendedInfo;
  startTime?: string;
  /** "Inprogress" (sic), "Succeeded", "Failed", "Canceled": compare case-insensitively. */
  status?: string;
}

export interface JobSubTask {
  additionalDetails?: Record<string, string>;
  taskId: number;
  taskName: string;
  readonly taskProgress?: string;
  taskStatus: string;
}

export interface JobExtendedInfo {
  additionalDetails?: Record<string, string>;
  readonly backupInstanceState?: string;
  readonly dataTransferredInBytes?: number | null;
  /** Azure's own misspelling, seen in some restore job answers: read both. */
  readonly dataTransferedInBytes?: number | null;
  readonly recoveryDestination?: string | null;
  readonly sourceRecoverPoint?: { recoveryPointID?: string; recoveryPointTime?: string };
  readonly subTasks?: JobSubTask[];
  readonly targetRecoverPoint?: { recoveryPointID?: string; recoveryPointTime?: string };
  readonly warningDetails?: UserFacingError[];
}

/** Job status: "InProgress", "Completed", "Failed", "CompletedWithWarnings", "Cancelled"... compare case-insensitively. */
export interface AzureBackupJob {
  activityID: string;
  backupInstanceFriendlyName: string;
  readonly backupInstanceId?: string;
  dataSourceId: string;
  dataSourceLocation: string;
  dataSourceName: string;
  dataSourceSetName?: string;
  dataSourceType: string;
  readonly duration?: string;
  readonly endTime?: string;
  readonly errorDetails?: UserFacingError[];
  readonly extendedInfo?: JobExtendedInfo;
  isUserTriggered: boolean;
  operation: string;
  operationCategory: string;
  readonly policyId?: string;
  readonly policyName?: string;
  progressEnabled: boolean;
  readonly progressUrl?: string;
  readonly rehydrationPriority?: string;
  readonly restoreType?: string;
  sourceResourceGroup: string;
  sourceSubscriptionID: string;
  startTime: string;
  status: string;
  subscriptionId: string;
  supportedActions: string[];
  vaultName: string;
  etag?: string;
  sourceDataStoreName?: string;
  destinationDataStoreName?: string;
}

export interface AzureBackupJobResource extends ProxyResource {
  properties?: AzureBackupJob;
}

/** The result the client returns for an ad hoc backup: the service's answer plus the normalised job ids. */
export interface AdhocBackupResult extends OperationJobExtendedInfo {
  /** The job's GUID, whatever form the service answered with. */
  jobId: string;
  /** The job's full ARM resource id, in canonical casing, built from the vault the backup ran in. */
  jobResourceId: string;
  /** `jobId` exactly as the service returned it. */
  rawJobId: string;
}

/** Where a recovery point's data lives (e.g. VaultStore) and when it expires there. */
export interface RecoveryPointDataStoreDetails {
  creationTime?: string;
  expiryTime?: string | null;
  id?: string;
  metaData?: string | null;
  state?: string;
  type?: string;
  visible?: boolean;
  readonly rehydrationExpiryTime?: string | null;
  readonly rehydrationStatus?: string | null;
}

/** `AzureBackupDiscreteRecoveryPoint`: the only recovery point kind of PG Flexible vaulted backups. */
export interface AzureBackupDiscreteRecoveryPoint {
  objectType: "AzureBackupDiscreteRecoveryPoint" | (string & {});
  friendlyName?: string;
  recoveryPointDataStoresDetails?: RecoveryPointDataStoreDetails[];
  recoveryPointTime: string;
  policyName?: string;
  policyVersion?: string | null;
  recoveryPointId?: string;
  recoveryPointType?: string;
  retentionTagName?: string;
  retentionTagVersion?: string;
  readonly expiryTime?: string | null;
  /** "Completed" or "Partial". */
  recoveryPointState?: string;
}

export interface AzureBackupRecoveryPointResource extends ProxyResource {
  properties?: AzureBackupDiscreteRecoveryPoint;
}

/** Destination of a restore as files: the container's URL and ARM id. */
export interface TargetDetails {
  /** Ignored for PG Flexible (the service names the files itself). */
  filePrefix: string;
  restoreTargetLocationType: "AzureBlobs" | "AzureFiles" | (string & {});
  /** The container URL, e.g. `https://acct.blob.core.windows.net/restores`. */
  url: string;
  /** The container's ARM id (`…/blobServices/default/containers/{name}`), not the account's. */
  targetResourceArmId?: string;
}

export interface RestoreFilesTargetInfo {
  objectType: "RestoreFilesTargetInfo";
  recoveryOption: "FailIfExists";
  restoreLocation?: string;
  targetDetails: TargetDetails;
}

/** The only restore PG Flexible allows: a recovery point restored as files to a blob container. */
export interface AzureBackupRecoveryPointBasedRestoreRequest {
  objectType: "AzureBackupRecoveryPointBasedRestoreRequest";
  recoveryPointId: string;
  restoreTargetInfo: RestoreFilesTargetInfo;
  sourceDataStoreType: "VaultStore" | "ArchiveStore" | "OperationalStore" | "SnapshotStore";
  sourceResourceId?: string;
}

export interface ValidateRestoreRequestObject {
  restoreRequestObject: AzureBackupRecoveryPointBasedRestoreRequest;
}

/** The result the client returns for a restore: the service's answer plus the normalised job ids. */
export type TriggerRestoreResult = AdhocBackupResult;
