import type { ProviderContext } from "../../core/provider.js";
import { isObject } from "../../core/json.js";
import { NO_ARCHIVE, snapshotAtBackup } from "../../pg/snapshots.js";
import { writing } from "./restoreJob.js";
import { durationInMs, emptySlice, isBackupJob, key, PROVIDER_NAME } from "./state.js";
import type { DataProtectionSlice, InstanceRecord, JobRecord } from "./state.js";

/**
 * Recovery points: one per completed backup job of an instance (ad hoc or scheduled; `Completed` or
 * `CompletedWithWarnings`), derived from the jobs so seeded history has them too. Id: the job's GUID
 * without dashes (the job's `targetRecoverPoint.recoveryPointID`); time: a minute before the job ended;
 * retention tag: the job's; expiry: the policy's retention rule of that tag (else its default rule).
 * Expired points are gone, as retention deletes them. Kept apart from `engine.ts`, which only calls
 * {@link onJobEnded}.
 */

const sliceOf = (context: ProviderContext): DataProtectionSlice =>
  context.state.slice(PROVIDER_NAME, emptySlice);

export interface RecoveryPoint {
  id: string;
  /** 32 hex digits. */
  name: string;
  job: JobRecord;
  instance: InstanceRecord;
  /** Emulator ms. */
  timeMs: number;
  expiryMs?: number;
}

const isBackup = (job: JobRecord): boolean =>
  isBackupJob(job) && (job.status === "Completed" || job.status === "CompletedWithWarnings");

export const recoveryPointIdOf = (job: JobRecord): string => job.name.replace(/-/g, "");
export const recoveryPointMsOf = (job: JobRecord): number => job.endMs - 60_000;

/** The policy's retention (ms) for `tag`: the rule named so, else the default rule; undefined = kept forever. */
function retentionInMs(context: ProviderContext, policyId: string, tag: string): number | undefined {
  const policy = sliceOf(context).policies[key(policyId)];
  const rules = ((policy?.properties.policyRules as unknown[] | undefined) ?? []).filter(
    (r): r is Record<string, unknown> => isObject(r) && r.objectType === "AzureRetentionRule",
  );
  const rule =
    rules.find((r) => String(r.name).toLowerCase() === tag.toLowerCase()) ??
    rules.find((r) => r.isDefault === true);
  let longest: number | undefined;
  for (const lifecycle of (rule?.lifecycles as unknown[] | undefined) ?? []) {
    const deleteAfter = isObject(lifecycle) ? lifecycle.deleteAfter : undefined;
    const d =
      isObject(deleteAfter) && typeof deleteAfter.duration === "string"
        ? durationInMs(deleteAfter.duration)
        : undefined;
    if (d !== undefined) longest = Math.max(longest ?? 0, d);
  }
  return longest;
}

/** The instance's recovery points, newest first, expired ones left out. */
export function recoveryPointsOf(context: ProviderContext, instance: InstanceRecord): RecoveryPoint[] {
  const now = context.clock.now();
  const points: RecoveryPoint[] = [];
  for (const job of Object.values(sliceOf(context).jobs)) {
    if (job.instanceKey !== key(instance.id) || !isBackup(job)) continue;
    const timeMs = recoveryPointMsOf(job);
    const retention = retentionInMs(context, job.policyId, job.retentionTag);
    const expiryMs = retention === undefined ? undefined : timeMs + retention;
    if (expiryMs !== undefined && expiryMs <= now) continue;
    const name = recoveryPointIdOf(job);
    points.push({
      id: `${instance.id}/recoveryPoints/${name}`,
      name,
      job,
      instance,
      timeMs,
      ...(expiryMs === undefined ? {} : { expiryMs }),
    });
  }
  return points.sort((a, b) => b.timeMs - a.timeMs || a.name.localeCompare(b.name));
}

export function findRecoveryPoint(
  context: ProviderContext,
  instance: InstanceRecord,
  recoveryPointId: string,
): RecoveryPoint | undefined {
  const wanted = recoveryPointId.replace(/-/g, "").toLowerCase();
  return recoveryPointsOf(context, instance).find((p) => p.name === wanted);
}

/** `AzureBackupDiscreteRecoveryPointResource` as the recording shows it. */
export function recoveryPointResource(
  context: ProviderContext,
  point: RecoveryPoint,
): Record<string, unknown> {
  const iso = (ms: number): string => context.clock.reportedIso(ms).replace(/\.(\d{3})Z$/, ".$10000Z");
  // Deadlines in the future are reported when the emulator's clock will reach them (see the time scale).
  const expiry = point.expiryMs === undefined ? null : iso(point.expiryMs);
  return {
    properties: {
      objectType: "AzureBackupDiscreteRecoveryPoint",
      recoveryPointId: point.name,
      recoveryPointTime: iso(point.timeMs),
      recoveryPointType: "Full",
      friendlyName: point.name,
      recoveryPointDataStoresDetails: [
        {
          id: point.job.activityId,
          type: "VaultStore",
          creationTime: iso(point.timeMs),
          expiryTime: expiry,
          metaData: null,
          visible: true,
          state: "COMMITTED",
          rehydrationExpiryTime: null,
          rehydrationStatus: null,
        },
      ],
      retentionTagName: point.job.retentionTag,
      retentionTagVersion: String(point.job.startMs * 10_000),
      policyName: point.job.policyName,
      policyVersion: null,
      expiryTime: expiry,
      recoveryPointState: point.job.status === "CompletedWithWarnings" ? "Partial" : "Completed",
    },
    id: point.id,
    name: point.name,
    type: "Microsoft.DataProtection/backupVaults/backupInstances/recoveryPoints",
  };
}

/**
 * Called by the engine when a job reaches its end time; returns true to keep it InProgress a while longer
 * (a restore whose files are still being written). A completed backup job's databases, as declared when
 * it started, are dumped for its recovery point (local PostgreSQL only; see pg/snapshots.ts).
 */
export function onJobEnded(context: ProviderContext, job: JobRecord): boolean {
  const restore = job.restore;
  if (restore) {
    if (restore.writeState === "pending" && writing.has(restore)) return true;
    if (restore.writeState === "pending") {
      // Loaded from a seed or state export mid-write: nothing is writing its files any more.
      restore.writeState = "failed";
      restore.writeError = "the emulator's state was reloaded while the files were being written";
    }
    if (restore.writtenAtMs !== undefined) job.endMs = Math.max(job.endMs, restore.writtenAtMs);
    if (restore.writeState === "failed") {
      const error = restore.writeError ?? "unknown error";
      // A missing archive says its own fix; anything else is the container's.
      const next = error.startsWith(NO_ARCHIVE)
        ? ""
        : " Check the container exists and is reachable, then restore again.";
      job.outcome = {
        status: "Failed",
        errorCode: "UserErrorRestoreTargetWriteFailed",
        errorMessage: `The restored files could not be written to '${restore.url}': ${error}.${next}`,
      };
    }
    return false;
  }
  if (job.outcome.status === "Completed" || job.outcome.status === "CompletedWithWarnings")
    snapshotAtBackup(context, job.datasourceId, recoveryPointIdOf(job), job.startMs);
  return false;
}
