import type { JobRecord, RestoreJobDetails } from "./state.js";

/** Restores whose files are being written by this process (a pending one not in here was interrupted). */
export const writing = new Set<RestoreJobDetails>();

/**
 * How a Restore job differs from a backup job when read (recording entries 69–70): `operationCategory`
 * `Restore`, `sourceDataStoreType: VaultStore`, no destination data store, `sourceRecoverPoint` and
 * `recoveryDestination` set, the sub task `Trigger Restore` whose details carry `DataTransferredInBytes`
 * (a string) while `extendedInfo.dataTransferredInBytes` stays null, and the file prefix in
 * `additionalDetails`. `iso` reports an emulator instant on the wall clock. With the setting
 * `restoreBytesField: "dataTransferedInBytes"` a completed restore also carries
 * `extendedInfo.dataTransferedInBytes`, the spelling some of Azure's answers use (service-facts.md), so
 * clients can be shown to read both.
 */
export function restoreJobProperties(
  job: JobRecord,
  restore: RestoreJobDetails,
  properties: Record<string, unknown>,
  iso: (ms: number) => string,
  settings: object,
): Record<string, unknown> {
  const misspelled =
    (settings as { restoreBytesField?: string }).restoreBytesField === "dataTransferedInBytes";
  const done = job.status !== "InProgress";
  const failed = job.status === "Failed";
  const bytes = (restore.files ?? []).reduce((sum, f) => sum + f.sizeInBytes, 0);
  const extendedInfo = (properties.extendedInfo ?? {}) as Record<string, unknown>;
  return {
    ...properties,
    operationCategory: "Restore",
    sourceDataStoreType: "VaultStore",
    destinationDataStoreName: null,
    errorDetails: failed
      ? [
          {
            code: job.outcome.errorCode ?? "UserErrorRestoreFailed",
            message: job.outcome.errorMessage ?? "The restore failed.",
            isRetryable: true,
            isUserError: true,
            recommendedAction: [
              "Check the target container and the vault's access to it, then restore again.",
            ],
          },
        ]
      : null,
    extendedInfo: {
      ...extendedInfo,
      dataTransferredInBytes: null,
      targetRecoverPoint: null,
      sourceRecoverPoint: {
        recoveryPointID: restore.recoveryPointId,
        recoveryPointTime: iso(restore.recoveryPointMs),
      },
      recoveryDestination: restore.url,
      subTasks: [
        {
          taskId: 1,
          taskName: "Trigger Restore",
          taskStatus: done ? (failed ? "Failed" : "Completed") : "InProgress",
          taskProgress: null,
          additionalDetails:
            done && !failed
              ? {
                  DataTransferredInBytes: String(bytes),
                  TaskId: job.activityId,
                  DatasourceType: job.datasourceType ?? "Microsoft.DBforPostgreSQL/flexibleServers",
                }
              : null,
        },
      ],
      additionalDetails: { "Restore File Prefix": restore.filePrefix },
      warningDetails: null,
      ...(misspelled && done && !failed ? { dataTransferedInBytes: bytes } : {}),
    },
  };
}
