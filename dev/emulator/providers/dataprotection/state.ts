/**
 * The Data Protection provider's state slice (`providers.dataprotection` in seeds): plain JSON keyed by
 * lower-cased resource ids. Time-dependent transitions (protection configured, jobs finishing, scheduled
 * backups) are stored as due times and applied lazily by `advance()` on every request, so they survive
 * seed export/import and need no timers.
 */

export const PROVIDER_NAME = "dataprotection";
export const API_VERSIONS = ["2024-04-01", "2023-11-01"] as const;
export const PG_FLEX = "Microsoft.DBforPostgreSQL/flexibleServers";
export const ROLE_LTR_BACKUP = "c088a766-074b-43ba-90d4-1fb21feae531";
export const ROLE_READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
export const ROLE_NAMES: Record<string, string> = {
  [ROLE_LTR_BACKUP]: "PostgreSQL Flexible Server Long Term Retention Backup Role",
  [ROLE_READER]: "Reader",
};

/**
 * How an emulated job ends. The spec spells a cancelled job `Cancelled` (JobStatus description); ARM elsewhere
 * writes `Canceled` (provisioning and operation states), and the job status is a free string, so both are offered.
 */
export type JobOutcomeStatus = "Completed" | "Failed" | "CompletedWithWarnings" | "Cancelled" | "Canceled";

/** Every {@link JobOutcomeStatus}, for validating control input. */
export const JOB_OUTCOME_STATUSES: readonly JobOutcomeStatus[] = [
  "Completed",
  "Failed",
  "CompletedWithWarnings",
  "Cancelled",
  "Canceled",
];

export interface JobOutcome {
  status: JobOutcomeStatus;
  /** Emulated run time; default `settings.backupJobDurationInMs`. */
  durationInMs?: number;
  errorCode?: string;
  errorMessage?: string;
}

export interface VaultRecord {
  id: string;
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  /** System-assigned identity; `null` = the vault has none (identity type "None"). */
  principalId: string | null;
  tenantId: string;
  storageType: "LocallyRedundant" | "GeoRedundant" | "ZoneRedundant";
  softDeleteState: "On" | "Off" | "AlwaysOn";
  softDeleteRetentionInDays: number;
  createdAt: string;
}

export interface PolicyRecord {
  id: string;
  vaultKey: string;
  name: string;
  /** `properties` as stored (BackupPolicy). */
  properties: Record<string, unknown>;
}

export interface InstanceRecord {
  id: string;
  vaultKey: string;
  name: string;
  tags?: Record<string, string>;
  /** `properties` as written, datasource ids normalised to `resourceID`. */
  properties: Record<string, unknown>;
  /** Lower-cased datasource (server) id. */
  datasourceKey: string;
  protectionStatus: string;
  currentProtectionState: string;
  provisioningState: string;
  protectionErrorDetails?: { code: string; message: string };
  /** Emulator ms at which ConfiguringProtection becomes ProtectionConfigured. */
  configuredAtMs?: number;
  /** Last scheduled backup occurrence already turned into a job (emulator ms). */
  lastScheduledMs?: number;
  /** Cached next occurrence, valid while `lastScheduledMs` still equals `nextScheduledFromMs`. */
  nextScheduledMs?: number;
  nextScheduledFromMs?: number;
  createdAt: string;
}

export interface DeletedInstanceRecord extends InstanceRecord {
  deletionTime: string;
  scheduledPurgeTime: string;
  deleteActivityID: string;
}

export interface JobRecord {
  id: string;
  /** GUID. */
  name: string;
  vaultKey: string;
  instanceKey: string;
  instanceName: string;
  friendlyName: string;
  datasourceId: string;
  datasourceLocation: string;
  datasourceName: string;
  /** Default PG Flexible (older seeds omit it). */
  datasourceType?: string;
  sourceResourceGroup: string;
  sourceSubscriptionId: string;
  policyId: string;
  policyName: string;
  operation: string;
  isUserTriggered: boolean;
  retentionTag: string;
  activityId: string;
  startMs: number;
  endMs: number;
  status: "InProgress" | JobOutcomeStatus;
  outcome: JobOutcome;
  dataTransferredInBytes: number;
  /** Restore jobs only (`operation: "Restore"`): what is restored where (restore.ts). */
  restore?: RestoreJobDetails;
}

/** A backup job (ad hoc or scheduled), not a Restore job: what makes recovery points and the week's backup. */
export const isBackupJob = (job: Pick<JobRecord, "operation">): boolean =>
  job.operation === "Backup" || job.operation === "ScheduledBackup";

export interface DataProtectionSettings {
  validateDurationInMs: number;
  putDurationInMs: number;
  configureDelayInMs: number;
  adhocDurationInMs: number;
  actionDurationInMs: number;
  deleteDurationInMs: number;
  backupJobDurationInMs: number;
  /** How the ad hoc backup result spells `jobId`: always the full id, always the GUID, or alternating as Azure does. */
  jobIdForm: "alternate" | "full" | "guid";
  scheduledBackups: boolean;
  /** Cap on scheduled occurrences materialised per instance in one catch-up. */
  maxScheduledCatchUp: number;
  /**
   * First day of the week for the one-vaulted-backup-a-week limit, 0 = Sunday … 6 = Saturday, weeks starting
   * 00:00 UTC. Azure does not publish its week boundary; Sunday matches the policies' `R/<Sunday>/P1W` anchor.
   */
  weekStartsOn: number;
}

export const defaultSettings: DataProtectionSettings = {
  // From the recording: validate ≈ 41 s, PUT ≈ 1 s then ProtectionConfigured ≈ 68 s later, backup job 12 min 15 s.
  validateDurationInMs: 41_000,
  putDurationInMs: 1_000,
  configureDelayInMs: 68_000,
  adhocDurationInMs: 2_000,
  actionDurationInMs: 5_000,
  deleteDurationInMs: 10_000,
  backupJobDurationInMs: 735_000,
  jobIdForm: "alternate",
  scheduledBackups: true,
  maxScheduledCatchUp: 20,
  weekStartsOn: 0,
};

export interface DataProtectionSlice {
  vaults: Record<string, VaultRecord>;
  policies: Record<string, PolicyRecord>;
  instances: Record<string, InstanceRecord>;
  deletedInstances: Record<string, DeletedInstanceRecord>;
  jobs: Record<string, JobRecord>;
  /** Job outcome by lower-cased server id, vault id, or "*" (default Completed). */
  outcomes: Record<string, JobOutcome>;
  settings: Partial<DataProtectionSettings>;
  /** Counter behind the alternating jobId form. */
  adhocCount: number;
}

export function emptySlice(): DataProtectionSlice {
  return {
    vaults: {},
    policies: {},
    instances: {},
    deletedInstances: {},
    jobs: {},
    outcomes: {},
    settings: {},
    adhocCount: 0,
  };
}

export const key = (id: string): string => id.replace(/\/+$/, "").toLowerCase();

export function vaultIdOf(subscriptionId: string, resourceGroupName: string, vaultName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.DataProtection/backupVaults/${vaultName}`;
}

export function resourceGroupOf(id: string): string | undefined {
  const m = /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)/i.exec(id);
  return m?.[1];
}

/** Next occurrence strictly after `afterMs` of an ISO 8601 repeating interval `R[n]/start/period`. */
export function nextOccurrence(interval: string, afterMs: number): number | undefined {
  const m = /^R(\d*)\/([^/]+)\/(P.+)$/.exec(interval.trim());
  if (!m || !m[2] || !m[3]) return undefined;
  const start = Date.parse(m[2]);
  const period = durationInMs(m[3]);
  if (Number.isNaN(start) || period === undefined || period <= 0) return undefined;
  if (afterMs < start) return start;
  const n = Math.floor((afterMs - start) / period) + 1;
  const limit = m[1] ? Number(m[1]) : Infinity;
  return n > limit ? undefined : start + n * period;
}

/** ISO 8601 durations with fixed-length units (D, W, H, M, S; months/years approximated). */
export function durationInMs(iso: string): number | undefined {
  const m =
    /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      iso,
    );
  if (!m || iso === "P" || iso.endsWith("T")) return undefined;
  const [, y, mo, w, d, h, mi, s] = m.map((v) => (v === undefined ? 0 : Number(v)));
  const day = 86_400_000;
  return (
    (y ?? 0) * 365 * day +
    (mo ?? 0) * 30 * day +
    (w ?? 0) * 7 * day +
    (d ?? 0) * day +
    (h ?? 0) * 3_600_000 +
    (mi ?? 0) * 60_000 +
    (s ?? 0) * 1000
  );
}

const DAY_IN_MS = 86_400_000;

/** Start (UTC midnight) of the week holding `ms`, weeks starting on `weekStartsOn` (0 = Sunday). */
export function weekStartMs(ms: number, weekStartsOn: number): number {
  const midnight = Math.floor(ms / DAY_IN_MS) * DAY_IN_MS;
  const weekday = new Date(midnight).getUTCDay();
  const daysIntoWeek = (((weekday - weekStartsOn) % 7) + 7) % 7;
  return midnight - daysIntoWeek * DAY_IN_MS;
}

/** `PT12M15.8223345S` style, as jobs report `duration`. */
export function isoDuration(ms: number): string {
  const total = Math.max(0, ms) / 1000;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = Math.round((total % 60) * 1000) / 1000;
  return `PT${h ? `${h}H` : ""}${m ? `${m}M` : ""}${s || (!h && !m) ? `${s}S` : ""}`;
}

/** A restore job's own facts (`JobRecord.restore`). */
export interface RestoreJobDetails {
  recoveryPointId: string;
  /** Emulator ms of the recovery point. */
  recoveryPointMs: number;
  /** `targetDetails.url` as sent. */
  url: string;
  filePrefix: string;
  /** Lower-cased container id the files go to. */
  containerKey: string;
  containerName: string;
  /** The GUID every file name of this restore starts with. */
  fileGuid: string;
  /** `pending` while the files are being written (the job stays InProgress). */
  writeState: "pending" | "written" | "failed";
  /** Emulator ms when writing ended. */
  writtenAtMs?: number;
  files?: Array<{ name: string; sizeInBytes: number }>;
  /** `local-postgres` or `committed-archives`; `none` when the emulator has no Azurite. */
  source?: string;
  pgDumpVersion?: string;
  writeError?: string;
}
