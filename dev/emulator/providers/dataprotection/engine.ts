import type { ProviderContext } from "../../core/provider.js";
import { isObject } from "../../core/json.js";
import { checkResourceLocations, refuseReplica, tooLargeOutcome } from "./serverLimits.js";
import { onJobEnded } from "./recoveryPoints.js";
import { allInstances, instancesOfDatasource } from "./instanceIndex.js";
import { scheduledRetentionTag } from "./retentionTags.js";
import {
  defaultSettings,
  emptySlice,
  isBackupJob,
  key,
  nextOccurrence,
  PG_FLEX,
  PROVIDER_NAME,
  resourceGroupOf,
  weekStartMs,
  ROLE_LTR_BACKUP,
  ROLE_NAMES,
  ROLE_READER,
} from "./state.js";
import type {
  DataProtectionSettings,
  DataProtectionSlice,
  InstanceRecord,
  JobOutcome,
  JobRecord,
  VaultRecord,
} from "./state.js";

/** Error codes this provider answers. Where no public reference gives Azure's exact code, the name is ours. */
export const codes = {
  invalidParameter: "UserErrorInvalidRequestParameter",
  missingPermissions: "UserErrorMissingRequiredPermissions",
  alreadyProtected: "UserErrorDppDatasourceAlreadyProtected",
  regionMismatch: "UserErrorDatasourceAndVaultRegionMismatch",
  datasourceNotReady: "UserErrorDatasourceNotReady",
  datasourceNotFound: "UserErrorDatasourceNotFound",
  policyNotFound: "UserErrorPolicyNotFound",
  notProtected: "UserErrorBackupInstanceNotProtected",
  backupFailed: "UserErrorBackupFailed",
  /** Azure publishes the limit (one vaulted backup a week), not its code: this name is the emulator's. */
  weeklyBackupLimit: "UserErrorWeeklyBackupLimitReached",
} as const;

export interface Failure {
  status: number;
  code: string;
  message: string;
}

export function sliceOf(context: ProviderContext): DataProtectionSlice {
  return context.state.slice(PROVIDER_NAME, emptySlice);
}

export function settingsOf(context: ProviderContext): DataProtectionSettings {
  const fromOptions = (context.options.providerOptions[PROVIDER_NAME] ??
    {}) as Partial<DataProtectionSettings>;
  return { ...defaultSettings, ...fromOptions, ...sliceOf(context).settings };
}

/** Datasource type aliases: the spec's examples pair `OssDB` policies with PG single-server databases. */
const aliases: Record<string, string> = { ossdb: "microsoft.dbforpostgresql/servers/databases" };
export const knownDatasourceTypes = [
  PG_FLEX,
  "Microsoft.DBforPostgreSQL/servers/databases",
  "OssDB",
  "Microsoft.DBforMySQL/flexibleServers",
  "Microsoft.Compute/disks",
  "Microsoft.Storage/storageAccounts/blobServices",
  "Microsoft.Storage/storageAccounts/adlsBlobServices",
  "Microsoft.ContainerService/managedClusters",
];
export const canonicalType = (t: string): string => aliases[t.toLowerCase()] ?? t.toLowerCase();
export const isKnownType = (t: unknown): t is string =>
  typeof t === "string" && knownDatasourceTypes.some((k) => canonicalType(k) === canonicalType(t));

/** Reads a property whatever its casing (`resourceId` vs `resourceID`: both are sent by real clients). */
export function prop(obj: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const invalid = (message: string): Failure => ({ status: 400, code: codes.invalidParameter, message });

/**
 * Shape checks of a BackupInstance body (validateForBackup and PUT): what the service rejects before doing
 * anything. Returns the normalised properties (`resourceID` spelling) or the failure.
 */
export function checkInstanceShape(
  context: ProviderContext,
  vault: VaultRecord,
  value: unknown,
  where: string,
):
  | { properties: Record<string, unknown>; datasourceId: string; datasourceType: string; policyId: string }
  | Failure {
  if (!isObject(value)) return invalid(`'${where}' is required and must be an object.`);
  if (value.objectType !== "BackupInstance")
    return invalid(`'${where}.objectType' must be 'BackupInstance'.`);
  const ds = value.dataSourceInfo;
  if (!isObject(ds)) return invalid(`'${where}.dataSourceInfo' is required.`);
  const datasourceId = prop(ds, "resourceID");
  if (typeof datasourceId !== "string" || !datasourceId.startsWith("/subscriptions/")) {
    return invalid(`'${where}.dataSourceInfo.resourceID' must be an ARM resource id.`);
  }
  if (ds.objectType !== undefined && ds.objectType !== "Datasource")
    return invalid(`'${where}.dataSourceInfo.objectType' must be 'Datasource'.`);
  const datasourceType = ds.datasourceType;
  if (!isKnownType(datasourceType)) {
    return invalid(
      `The datasource type '${String(datasourceType)}' is not supported. Supported types: ${knownDatasourceTypes.join(", ")}.`,
    );
  }
  const badLocation = checkResourceLocations(value, where, invalid);
  if (badLocation) return badLocation;
  const policyInfo = value.policyInfo;
  if (!isObject(policyInfo) || typeof policyInfo.policyId !== "string")
    return invalid(`'${where}.policyInfo.policyId' is required.`);
  const policyId = policyInfo.policyId;
  const policy = sliceOf(context).policies[key(policyId)];
  if (!policy || policy.vaultKey !== key(vault.id)) {
    return {
      status: 400,
      code: codes.policyNotFound,
      message: `The backup policy '${policyId}' was not found in Backup vault '${vault.name}'.`,
    };
  }
  const policyTypes = (policy.properties.datasourceTypes as unknown[] | undefined) ?? [];
  if (!policyTypes.some((t) => typeof t === "string" && canonicalType(t) === canonicalType(datasourceType))) {
    return invalid(
      `The datasource type '${datasourceType}' does not match the policy's datasource types (${policyTypes.join(", ")}).`,
    );
  }
  const { resourceId: _a, resourceID: _b, ...restDs } = ds as Record<string, unknown>;
  for (const k of Object.keys(restDs)) if (k.toLowerCase() === "resourceid") delete restDs[k];
  const properties: Record<string, unknown> = {
    ...value,
    dataSourceInfo: { ...restDs, resourceID: datasourceId },
  };
  for (const k of Object.keys(properties)) if (properties[k] === null) delete properties[k];
  return { properties, datasourceId, datasourceType, policyId };
}

export function isFailure(v: unknown): v is Failure {
  return isObject(v) && typeof v.code === "string" && typeof v.status === "number";
}

/**
 * What validation and configure-protection check against the world (PG Flexible datasources only; other
 * types come from spec examples and pass): server exists and is Ready, same region as the vault, not
 * protected elsewhere, and the vault identity holds both roles (honouring RBAC propagation).
 */
export function checkProtectable(
  context: ProviderContext,
  vault: VaultRecord,
  datasourceId: string,
  datasourceType: string,
  options: { allowInstance?: string } = {},
): Failure | undefined {
  const slice = sliceOf(context);
  for (const instance of instancesOfDatasource(slice, key(datasourceId))) {
    if (options.allowInstance && key(instance.id) === key(options.allowInstance)) continue;
    const owner = slice.vaults[instance.vaultKey];
    return {
      status: 409,
      code: codes.alreadyProtected,
      message: `Datasource '${datasourceId}' is already protected by backup instance '${instance.name}' in Backup vault '${owner?.id ?? instance.vaultKey}'.`,
    };
  }
  if (canonicalType(datasourceType) !== canonicalType(PG_FLEX)) return undefined;
  const server = context.servers.get(datasourceId);
  if (!server)
    return {
      status: 404,
      code: codes.datasourceNotFound,
      message: `The datasource '${datasourceId}' was not found.`,
    };
  const norm = (r: string): string => r.replace(/\s+/g, "").toLowerCase();
  if (norm(server.location) !== norm(vault.location)) {
    return {
      status: 400,
      code: codes.regionMismatch,
      message: `The datasource is in region '${server.location}' but the Backup vault '${vault.name}' is in '${vault.location}'. A Backup vault protects datasources of its own region only.`,
    };
  }
  const replica = refuseReplica(server);
  if (replica) return replica;
  if (server.properties.state !== "Ready") {
    return {
      status: 400,
      code: codes.datasourceNotReady,
      message: `The PostgreSQL Flexible Server '${server.name}' is in state '${server.properties.state}'; it must be 'Ready' to be protected.`,
    };
  }
  if (!vault.principalId) {
    return {
      status: 400,
      code: codes.missingPermissions,
      message: `Appropriate permissions to perform the operation is missing. The Backup vault '${vault.name}' has no system-assigned managed identity.`,
    };
  }
  const serverRg = resourceGroupOf(server.id) ?? server.id;
  const missing: string[] = [];
  if (!context.rbac.hasRole(vault.principalId, ROLE_LTR_BACKUP, server.id)) {
    missing.push(`'${ROLE_NAMES[ROLE_LTR_BACKUP]}' (${ROLE_LTR_BACKUP}) on scope '${server.id}'`);
  }
  if (!context.rbac.hasRole(vault.principalId, ROLE_READER, serverRg)) {
    missing.push(`'${ROLE_NAMES[ROLE_READER]}' (${ROLE_READER}) on scope '${serverRg}'`);
  }
  if (missing.length > 0) {
    return {
      status: 400,
      code: codes.missingPermissions,
      message: `Appropriate permissions to perform the operation is missing. The Backup vault's managed identity (principal '${vault.principalId}') needs the role ${missing.join(" and the role ")}.`,
    };
  }
  return undefined;
}

export function outcomeFor(context: ProviderContext, vaultKey: string, datasourceKey: string): JobOutcome {
  const o = sliceOf(context).outcomes;
  return o[datasourceKey] ?? o[vaultKey] ?? o["*"] ?? { status: "Completed" };
}

export function createJob(
  context: ProviderContext,
  instance: InstanceRecord,
  options: { startMs: number; userTriggered: boolean; retentionTag: string },
): JobRecord {
  const slice = sliceOf(context);
  const vault = slice.vaults[instance.vaultKey];
  const settings = settingsOf(context);
  const ds = (instance.properties.dataSourceInfo ?? {}) as Record<string, unknown>;
  const datasourceId = String(ds.resourceID ?? "");
  const policyId = String(((instance.properties.policyInfo ?? {}) as Record<string, unknown>).policyId ?? "");
  const earlier = vaultedBackupOfWeek(context, key(instance.id), options.startMs, settings);
  const outcome =
    tooLargeOutcome(context.servers.get(datasourceId)) ??
    (earlier
      ? weeklyLimitOutcome(context, instance, earlier, settings)
      : outcomeFor(context, instance.vaultKey, instance.datasourceKey));
  const guid = context.newGuid();
  const vaultId = vault?.id ?? instance.vaultKey;
  const m = /\/resourceGroups\/([^/]+)/i.exec(datasourceId);
  const job: JobRecord = {
    id: `${vaultId}/backupJobs/${guid}`,
    name: guid,
    vaultKey: instance.vaultKey,
    instanceKey: key(instance.id),
    instanceName: instance.name,
    friendlyName: String(instance.properties.friendlyName ?? instance.name),
    datasourceId,
    datasourceLocation: String(ds.resourceLocation ?? vault?.location ?? ""),
    datasourceName: String(ds.resourceName ?? datasourceId.split("/").pop() ?? ""),
    datasourceType: String(ds.datasourceType ?? PG_FLEX),
    sourceResourceGroup: m?.[1] ?? "",
    sourceSubscriptionId: /\/subscriptions\/([^/]+)/i.exec(datasourceId)?.[1] ?? "",
    policyId,
    policyName: policyId.split("/").pop() ?? "",
    operation: options.userTriggered ? "Backup" : "ScheduledBackup",
    isUserTriggered: options.userTriggered,
    retentionTag: options.retentionTag,
    activityId: context.newGuid(),
    startMs: options.startMs,
    endMs: options.startMs + (outcome.durationInMs ?? settings.backupJobDurationInMs),
    status: "InProgress",
    outcome,
    dataTransferredInBytes: 0,
  };
  slice.jobs[key(job.id)] = job;
  runningJobs(slice).add(key(job.id));
  jobsOfInstance(slice, job.instanceKey).push(job);
  return job;
}

const WEEK_IN_MS = 7 * 86_400_000;
/** How long a job refused by the weekly limit runs before it fails (emulator time). */
const WEEKLY_LIMIT_FAILURE_IN_MS = 30_000;

/**
 * The support matrix: one vaulted backup a week; when several run in one week the first runs and the later
 * ones fail. "Runs" = a backup job (ad hoc or scheduled) of the instance started earlier that week that is
 * running or completed. The limit is about backups: a Restore job never uses the week's backup. Azure does not
 * say whether a failed or cancelled backup does; here it does not (it made no recovery point, and counting it
 * would leave a server unprotected for the rest of the week after one transient failure).
 * Week boundary: `settings.weekStartsOn`, UTC.
 */
function vaultedBackupOfWeek(
  context: ProviderContext,
  instanceKey: string,
  startMs: number,
  settings: DataProtectionSettings,
): JobRecord | undefined {
  const weekStart = weekStartMs(startMs, settings.weekStartsOn);
  let first: JobRecord | undefined;
  for (const job of jobsOfInstance(sliceOf(context), instanceKey)) {
    if (job.startMs < weekStart || job.startMs > startMs) continue;
    if (!isBackupJob(job)) continue;
    if (job.status !== "InProgress" && !job.status.startsWith("Completed")) continue;
    if (!first || job.startMs < first.startMs) first = job;
  }
  return first;
}

function weeklyLimitOutcome(
  context: ProviderContext,
  instance: InstanceRecord,
  earlier: JobRecord,
  settings: DataProtectionSettings,
): JobOutcome {
  const next = weekStartMs(earlier.startMs, settings.weekStartsOn) + WEEK_IN_MS;
  return {
    status: "Failed",
    durationInMs: WEEKLY_LIMIT_FAILURE_IN_MS,
    errorCode: codes.weeklyBackupLimit,
    errorMessage:
      `Only one vaulted backup a week is supported for Azure Database for PostgreSQL flexible servers. ` +
      `Backup instance '${instance.name}' already has this week's vaulted backup (job '${earlier.name}', started ` +
      `${context.clock.reportedIso(earlier.startMs)}). Retry after ${context.clock.reportedIso(next)}, when the next week starts.`,
  };
}

/** Jobs by instance key, so the weekly limit does not walk the whole history; rebuilt after a seed import. */
const byInstance = new WeakMap<object, Map<string, JobRecord[]>>();
function jobsOfInstance(slice: DataProtectionSlice, instanceKey: string): JobRecord[] {
  let index = byInstance.get(slice.jobs);
  if (!index) {
    index = new Map();
    for (const job of Object.values(slice.jobs)) {
      const list = index.get(job.instanceKey) ?? [];
      list.push(job);
      index.set(job.instanceKey, list);
    }
    byInstance.set(slice.jobs, index);
  }
  let list = index.get(instanceKey);
  if (!list) {
    list = [];
    index.set(instanceKey, list);
  }
  return list;
}

/**
 * Keys of jobs still InProgress, so `advance` does not walk the whole history on every request. Cached per
 * `jobs` object: a seed import replaces it, and the next call rebuilds the set from the imported jobs.
 */
const running = new WeakMap<object, Set<string>>();
function runningJobs(slice: DataProtectionSlice): Set<string> {
  let set = running.get(slice.jobs);
  if (!set) {
    set = new Set(
      Object.entries(slice.jobs)
        .filter(([, j]) => j.status === "InProgress")
        .map(([k]) => k),
    );
    running.set(slice.jobs, set);
  }
  return set;
}

/** Applies every transition that is due by emulator time `now`. Cheap when nothing is due. */
export function advance(context: ProviderContext): void {
  const slice = sliceOf(context);
  const settings = settingsOf(context);
  const now = context.clock.now();
  for (const instance of allInstances(slice)) {
    if (
      instance.protectionStatus === "ConfiguringProtection" &&
      instance.configuredAtMs !== undefined &&
      now >= instance.configuredAtMs
    ) {
      instance.protectionStatus = "ProtectionConfigured";
      instance.currentProtectionState = "ProtectionConfigured";
      instance.lastScheduledMs ??= instance.configuredAtMs;
    }
    if (settings.scheduledBackups && instance.currentProtectionState === "ProtectionConfigured")
      scheduleDue(context, instance, now, settings);
  }
  const jobs = runningJobs(slice);
  for (const k of jobs) {
    const job = slice.jobs[k];
    if (!job || job.status !== "InProgress") {
      jobs.delete(k);
    } else if (now >= job.endMs) {
      // Restores hold their job until the files are written; completed backups are dumped for restores.
      if (onJobEnded(context, job)) continue;
      job.status = job.outcome.status;
      job.dataTransferredInBytes = job.outcome.status.startsWith("Complete") ? 69_088 : 0;
      jobs.delete(k);
    }
  }
}

function scheduleDue(
  context: ProviderContext,
  instance: InstanceRecord,
  now: number,
  settings: DataProtectionSettings,
): void {
  // Fast path: the next occurrence is cached on the record, so an idle instance costs one comparison.
  // (Tests may move `lastScheduledMs` directly; the cache then no longer applies.)
  if (
    instance.nextScheduledMs !== undefined &&
    instance.nextScheduledFromMs === instance.lastScheduledMs &&
    now < instance.nextScheduledMs
  ) {
    return;
  }
  const intervals = scheduleOf(context, instance);
  let from = instance.lastScheduledMs ?? now;
  let next = nextOf(intervals, from);
  for (let n = 0; n < settings.maxScheduledCatchUp && next <= now; n++) {
    const policy = sliceOf(context).policies[key(policyIdOf(instance))];
    const earlier = jobsOfInstance(sliceOf(context), key(instance.id));
    const retentionTag = scheduledRetentionTag(policy, earlier, next, settings.weekStartsOn);
    createJob(context, instance, { startMs: next, userTriggered: false, retentionTag });
    from = next;
    next = nextOf(intervals, from);
  }
  instance.lastScheduledMs = Math.max(from, instance.lastScheduledMs ?? 0);
  // No occurrence left: check again in a day of emulator time (the policy may change).
  instance.nextScheduledMs = Number.isFinite(next) ? next : now + 86_400_000;
  instance.nextScheduledFromMs = instance.lastScheduledMs;
}

function nextOf(intervals: string[], from: number): number {
  let best = Infinity;
  for (const i of intervals) best = Math.min(best, nextOccurrence(i, from) ?? Infinity);
  return best;
}

function policyIdOf(instance: InstanceRecord): string {
  return String(((instance.properties.policyInfo ?? {}) as Record<string, unknown>).policyId ?? "");
}

function scheduleOf(context: ProviderContext, instance: InstanceRecord): string[] {
  const policy = sliceOf(context).policies[key(policyIdOf(instance))];
  const intervals: string[] = [];
  for (const rule of (policy?.properties.policyRules as unknown[] | undefined) ?? []) {
    if (!isObject(rule) || rule.objectType !== "AzureBackupRule" || !isObject(rule.trigger)) continue;
    const schedule = rule.trigger.schedule;
    if (isObject(schedule) && Array.isArray(schedule.repeatingTimeIntervals)) {
      for (const i of schedule.repeatingTimeIntervals) if (typeof i === "string") intervals.push(i);
    }
  }
  return intervals;
}

/** Forget cached schedules (after a policy or an instance's policy changes, or protection resumes). */
export function resetSchedules(context: ProviderContext, policyKey?: string): void {
  for (const instance of allInstances(sliceOf(context))) {
    const pk = key(
      String(((instance.properties.policyInfo ?? {}) as Record<string, unknown>).policyId ?? ""),
    );
    if (policyKey === undefined || pk === policyKey) delete instance.nextScheduledMs;
  }
}
