import type { ProviderContext } from "../../core/provider.js";
import { settingsOf, sliceOf } from "./engine.js";
import { restoreJobProperties } from "./restoreJob.js";
import { isoDuration } from "./state.js";
import type { DeletedInstanceRecord, InstanceRecord, JobRecord, PolicyRecord, VaultRecord } from "./state.js";

/** ARM representations, shaped like the spec's examples and the recording. */

export function vaultResource(vault: VaultRecord): Record<string, unknown> {
  return {
    id: vault.id,
    name: vault.name,
    type: "Microsoft.DataProtection/backupVaults",
    location: vault.location,
    tags: vault.tags,
    identity: vault.principalId
      ? { type: "SystemAssigned", principalId: vault.principalId, tenantId: vault.tenantId }
      : { type: "None" },
    properties: {
      monitoringSettings: { azureMonitorAlertSettings: { alertsForAllJobFailures: "Enabled" } },
      provisioningState: "Succeeded",
      resourceMoveState: "Unknown",
      storageSettings: [{ datastoreType: "VaultStore", type: vault.storageType }],
      securitySettings: {
        softDeleteSettings: {
          state: vault.softDeleteState,
          retentionDurationInDays: vault.softDeleteRetentionInDays,
        },
      },
      featureSettings: { crossRegionRestoreSettings: { state: "Disabled" } },
      isVaultProtectedByResourceGuard: false,
      secureScore: "Adequate",
      bcdrSecurityLevel: "Good",
    },
    systemData: {
      createdAt: vault.createdAt,
      createdByType: "User",
      lastModifiedAt: vault.createdAt,
      lastModifiedByType: "User",
    },
  };
}

export function policyResource(policy: PolicyRecord): Record<string, unknown> {
  return {
    id: policy.id,
    name: policy.name,
    type: "Microsoft.DataProtection/backupVaults/backupPolicies",
    properties: policy.properties,
  };
}

function instanceProperties(instance: InstanceRecord): Record<string, unknown> {
  return {
    ...instance.properties,
    protectionStatus: {
      status: instance.protectionStatus,
      ...(instance.protectionErrorDetails ? { errorDetails: instance.protectionErrorDetails } : {}),
    },
    currentProtectionState: instance.currentProtectionState,
    ...(instance.protectionErrorDetails ? { protectionErrorDetails: instance.protectionErrorDetails } : {}),
    provisioningState: instance.provisioningState,
    objectType: "BackupInstance",
  };
}

export function instanceResource(instance: InstanceRecord): Record<string, unknown> {
  return {
    properties: instanceProperties(instance),
    id: instance.id,
    name: instance.name,
    type: "Microsoft.DataProtection/backupVaults/backupInstances",
    ...(instance.tags ? { tags: instance.tags } : {}),
  };
}

export function deletedInstanceResource(instance: DeletedInstanceRecord): Record<string, unknown> {
  return {
    properties: {
      ...instanceProperties(instance),
      deletionInfo: {
        deletionTime: instance.deletionTime,
        scheduledPurgeTime: instance.scheduledPurgeTime,
        billingEndDate: instance.deletionTime,
        deleteActivityID: instance.deleteActivityID,
      },
      objectType: "DeletedBackupInstance",
    },
    id: instance.id.replace(/\/backupInstances\/([^/]+)$/i, "/deletedBackupInstances/$1"),
    name: instance.name,
    type: "Microsoft.DataProtection/backupVaults/deletedBackupInstances",
  };
}

export function jobResource(context: ProviderContext, job: JobRecord): Record<string, unknown> {
  const vault = sliceOf(context).vaults[job.vaultKey];
  const done = job.status !== "InProgress";
  const now = context.clock.now();
  // Times as reported (the wall clock's, never ahead of it); `duration` stays the emulated run time.
  const iso = (ms: number): string => context.clock.reportedIso(ms).replace(/\.(\d{3})Z$/, ".$10000Z");
  const failed = job.status === "Failed";
  const warnings = job.status === "CompletedWithWarnings";
  const resource = {
    properties: {
      activityID: job.activityId,
      subscriptionId: vault?.subscriptionId ?? job.sourceSubscriptionId,
      backupInstanceId: `${vault?.id ?? job.vaultKey}/backupInstances/${job.instanceName}`,
      policyId: job.policyId,
      dataSourceId: job.datasourceId,
      vaultName: vault?.name ?? "",
      backupInstanceFriendlyName: job.friendlyName,
      policyName: job.policyName,
      sourceResourceGroup: job.sourceResourceGroup,
      dataSourceSetName: null,
      dataSourceName: job.datasourceName,
      sourceDataStoreName: null,
      sourceDataStoreType: null,
      destinationDataStoreName: job.status.startsWith("Complete") ? "VaultStore" : null,
      progressEnabled: true,
      etag: `W/"datetime'${encodeURIComponent(iso(done ? job.endMs : job.startMs))}'"`,
      sourceSubscriptionID: job.sourceSubscriptionId,
      dataSourceLocation: job.datasourceLocation,
      startTime: iso(job.startMs),
      endTime: done ? iso(job.endMs) : null,
      dataSourceType: job.datasourceType ?? "Microsoft.DBforPostgreSQL/flexibleServers",
      operationCategory: "Backup",
      operation: job.operation,
      status: job.status,
      restoreType: null,
      isUserTriggered: job.isUserTriggered,
      rehydrationPriority: null,
      supportedActions: [""],
      duration: isoDuration(done ? job.endMs - job.startMs : Math.min(now, job.endMs) - job.startMs),
      progressUrl: null,
      isCrossRegionRestore: null,
      errorDetails: failed
        ? [
            {
              code: job.outcome.errorCode ?? "UserErrorBackupFailed",
              message: job.outcome.errorMessage ?? "The backup failed.",
              isRetryable: true,
              isUserError: true,
              recommendedAction: [
                "Retry the backup; if it keeps failing, check the server's state and the vault's roles.",
              ],
            },
          ]
        : null,
      extendedInfo: {
        backupInstanceState: null,
        dataTransferredInBytes: done ? job.dataTransferredInBytes : null,
        targetRecoverPoint:
          done && !failed
            ? { recoveryPointID: job.name.replace(/-/g, ""), recoveryPointTime: iso(job.endMs - 60_000) }
            : null,
        sourceRecoverPoint: null,
        recoveryDestination: null,
        subTasks: [
          {
            taskId: 1,
            taskName: "Trigger Backup",
            taskStatus: done ? (failed ? "Failed" : "Completed") : "InProgress",
            taskProgress: null,
            additionalDetails: null,
          },
        ],
        additionalDetails: { RetentionTag: job.retentionTag },
        warningDetails: warnings
          ? [
              {
                code: job.outcome.errorCode ?? "UserErrorBackupCompletedWithWarnings",
                message: job.outcome.errorMessage ?? "The backup completed with warnings.",
              },
            ]
          : null,
      },
    },
    id: job.id,
    name: job.name,
    type: "Microsoft.DataProtection/backupVaults/backupJobs",
  };
  return job.restore
    ? {
        ...resource,
        properties: restoreJobProperties(job, job.restore, resource.properties, iso, settingsOf(context)),
      }
    : resource;
}
