import { randomBytes } from "node:crypto";
import type { Config } from "../config/index.js";
import { ConflictError, ensureError } from "../errors.js";
import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import type {
  InventoryInstance,
  InventoryScope,
  InventorySnapshot,
  InventorySource,
  VaultInventory,
} from "../azure/inventory/types.js";
import { instancesOfSubscription } from "../azure/inventory/compose.js";
import { awaitedLater, mapWithConcurrency } from "../util/concurrency.js";
import { toFailure } from "../azure/inventory/normalize.js";
import type { ComplianceClass, SweepFailure } from "../domain/compliance.js";
import { RemediatedClasses } from "../domain/compliance.js";
import { decodeQueuePayload, type QueueSender } from "../store/queues.js";
import type { ScopeResult, SweepRow, SweepStore, SweepSummary } from "../store/sweeps.js";
import { MAX_LISTED_ITEMS, newSweepId } from "../store/sweeps.js";
import { classifyOrphan, classifyServer, type ClassificationRules } from "./classify.js";
import { readBackupTag } from "../domain/backupTag.js";
import { isGuid } from "../domain/guid.js";
import { parseServerId } from "../domain/serverId.js";
import { countClasses, diffRows, emptyDiff, finalizeSummary, presentSweep } from "./report.js";
import { serverWait, waitingForReady } from "./serverWait.js";
import type { OperationOptions } from "../util/options.js";
import { observeCompliance, observeSweepRows } from "./telemetry.js";
import type { RestoreTestReader } from "../restoreTests/model.js";
import { flagRestoreUntested, readRestoreTestSummaries, restoreTestsEnabled } from "./restoreUntested.js";

/** What the sweep needs from configuration (see {@link sweepConfigFrom}). */
export interface SweepConfig {
  mode: "enforce" | "report";
  /** Subscriptions in scope; empty means every subscription the identity can read. */
  scopes: readonly string[];
  backupTag: string;
  policyMap: Readonly<Record<string, string>>;
  optOutValues: readonly string[];
  /** Region → vault id. */
  vaultMap: Readonly<Record<string, string>>;
  /** Tag marking vaults this app may use; empty disables discovery. */
  vaultMarkerTag: string;
  staleGraceInMs: number;
  /** PGFLEX_RESTORE_TESTS is set (restore tests run); off when absent. */
  restoreTestsEnabled?: boolean;
  /** PGFLEX_RESTORE_TEST_MAX_AGE_DAYS (default 35). */
  restoreTestMaxAgeDays?: number;
}

export function sweepConfigFrom(config: Config): SweepConfig {
  return {
    mode: config.mode,
    scopes: config.scopes,
    backupTag: config.backupTag,
    policyMap: config.policyMap,
    optOutValues: config.optOutValues,
    vaultMap: config.vaultMap,
    vaultMarkerTag: config.vaultMarkerTag,
    staleGraceInMs: config.staleGraceHours * 3_600_000,
    restoreTestsEnabled: restoreTestsEnabled(config),
    restoreTestMaxAgeDays: config.restoreTestMaxAgeDays,
  };
}

/** Message on the `sweep-scopes` queue: one unit of a sweep (`all`, or one subscription id). */
export interface SweepScopeMessage {
  sweepId: string;
  unit: string;
}

/** Parses a `sweep-scopes` payload (object, JSON or base64 JSON); undefined for anything else. */
export function parseSweepScopeMessage(payload: unknown): SweepScopeMessage | undefined {
  const value = decodeQueuePayload(payload);
  if (!value || typeof value !== "object") return undefined;
  const { sweepId, unit } = value as Record<string, unknown>;
  if (typeof sweepId !== "string" || !/^\d{8}T\d{6}(\d{3})?Z-[a-z0-9]+$/i.test(sweepId)) return undefined;
  if (typeof unit !== "string" || !(unit === "all" || isGuid(unit))) return undefined;
  return { sweepId, unit: unit.toLowerCase() };
}

/** Asks the auto-protection worker to (re)protect a server; the same queue Event Grid events feed. */
export type EnqueueProtection = (
  request: { serverId: string; sweepId: string; reason: string },
  options?: OperationOptions,
) => Promise<void>;

/** The auto-protection worker's row for a server (servers table), when it has one. */
export interface ServerRecordLike {
  resourceId: string;
  state: string;
  lastErrorCode?: string;
  lastErrorMessage?: string;
  fix?: string;
  /** When the worker first recorded the server Protected (ISO). */
  protectedAt?: string;
}

export interface SweeperDeps {
  inventory: InventorySource;
  store: SweepStore;
  config: SweepConfig;
  enqueueProtection: EnqueueProtection;
  /** Needed by {@link Sweeper.startSweep}; in-process {@link Sweeper.runSweep} does not use it. */
  scopeQueue?: QueueSender<SweepScopeMessage>;
  /**
   * The worker's rows (servers table) that change a verdict: the states it gave up in (Failed,
   * MissingPermissions, NoVaultForRegion, UnknownPolicyTag), Protected, whose `protectedAt` keeps a new
   * instance from counting as stale before its first backup is due, and WaitingForServer, re-enqueued once
   * the server is Ready. One paged query per state. Optional.
   */
  listServerRecords?: (options?: OperationOptions) => AsyncIterable<ServerRecordLike>;
  now?: () => Date;
  /** Random part of sweep ids (tests make it deterministic). */
  newId?: () => string;
  logger?: Logger;
  /** A sweep still Running after this is reported Incomplete. Default 2 h. */
  maxDurationInMs?: number;
  /** startSweep fans out per subscription above this many subscriptions. Default 20. */
  fanOutMinSubscriptions?: number;
  /** Parallel protection enqueues. Default 16. */
  remediationConcurrency?: number;
  /**
   * Restore test results: protected servers with no passed test within `config.restoreTestMaxAgeDays` are
   * flagged `restoreUntested` (a signal beside the class). Absent: the sweep reports no such signal.
   */
  restoreTests?: Pick<RestoreTestReader, "summaries">;
}

export interface ListSweepRowsOptions extends OperationOptions {
  class?: ComplianceClass;
  top?: number;
  continuationToken?: string;
}

export interface SweepOptions extends OperationOptions {
  /** Classify and report, change nothing (also implied by PGFLEX_MODE=report). */
  dryRun?: boolean;
  /** `timer`, `api`, `bench`… */
  cause?: string;
}

export interface SweepReport {
  summary: SweepSummary;
  rows: SweepRow[];
}

export interface Sweeper {
  /** Runs a whole sweep in this process: inventory, classification, remediation, report. Never throws for Azure failures. */
  runSweep(options?: SweepOptions): Promise<SweepReport>;
  /** Records a Running sweep and enqueues its units on `sweep-scopes`; the queue worker does the rest. */
  startSweep(options?: SweepOptions): Promise<SweepSummary>;
  /** Queue worker: runs one unit, records its result, and completes the sweep when it was the last. Idempotent. */
  processScope(message: SweepScopeMessage, options?: OperationOptions): Promise<void>;
  /** Poison handler: a unit the queue gave up on makes its sweep Incomplete (never complete). */
  abandonScope(message: SweepScopeMessage, reason: string): Promise<void>;
  getSweep(id: string, options?: OperationOptions): Promise<SweepSummary | undefined>;
  /** One page of a sweep's rows, optionally of one class. */
  listRows(
    sweepId: string,
    options?: ListSweepRowsOptions,
  ): Promise<{ rows: SweepRow[]; continuationToken?: string }>;
  /** Newest sweep (any status). */
  latestSweep(options?: OperationOptions): Promise<SweepSummary | undefined>;
}

const DAY_IN_MS = 86_400_000;
/** Stored part of a fanned-out sweep's vault inventory shared by all units (instances are per subscription). */
const VAULTS_PART = "vaults";

function subscriptionOf(id: string): string {
  return /^\/subscriptions\/([^/]+)/i.exec(id)?.[1]?.toLowerCase() ?? "";
}

export function createSweeper(deps: SweeperDeps): Sweeper {
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? (() => randomBytes(4).toString("hex"));
  const log = deps.logger ?? silentLogger;
  const config = deps.config;
  const maxDurationInMs = deps.maxDurationInMs ?? 2 * 3_600_000;
  const rules: ClassificationRules = {
    backupTag: config.backupTag,
    policyMap: config.policyMap,
    optOutValues: config.optOutValues,
    staleGraceInMs: config.staleGraceInMs,
    defaultPolicyPeriodInMs: 7 * DAY_IN_MS,
  };
  const mappedVaultIds = Object.values(config.vaultMap).map((v) => v.toLowerCase());

  async function begin(options: SweepOptions): Promise<SweepSummary> {
    const startedAt = now();
    let subscriptionIds: string[] = [...config.scopes];
    let scopeFailure: unknown;
    if (subscriptionIds.length === 0) {
      try {
        subscriptionIds = await deps.inventory.listSubscriptions({ abortSignal: options.abortSignal });
      } catch (e) {
        if (options.abortSignal?.aborted) throw e;
        scopeFailure = e; // recorded on the sweep below: a sweep that cannot know its scope is Incomplete
      }
    }
    const recent = await deps.store.listSweeps({ top: 20, abortSignal: options.abortSignal });
    const previous = recent.find((s) => s.status === "Complete" || s.status === "Partial");
    for (const stale of recent) {
      if (presentSweep(stale, startedAt).status === "Incomplete" && stale.status === "Running") {
        await deps.store.updateSweep({ ...stale, status: "Incomplete" }).catch((e: unknown) => {
          log.warn(`Could not mark sweep ${stale.id} Incomplete: ${ensureError(e).message}`);
        });
      }
    }
    const dryRun = options.dryRun === true || config.mode === "report";
    const created = await deps.store.createSweep(
      {
        id: newSweepId(startedAt, newId()),
        status: "Running",
        mode: config.mode,
        dryRun,
        cause: options.cause ?? "api",
        inventory: deps.inventory.kind,
        startedAt: startedAt.toISOString(),
        deadlineAt: new Date(startedAt.getTime() + maxDurationInMs).toISOString(),
        subscriptionIds,
        scopeUnits: ["all"],
        ...(previous ? { previousSweepId: previous.id } : {}),
        total: 0,
        counts: {},
        compliancePercent: 0,
        remediation: { enqueued: 0, wouldEnqueue: 0, failed: 0 },
        failureCount: 0,
        failures: [],
        diff: emptyDiff(previous?.id),
        armRequests: 0,
      },
      { abortSignal: options.abortSignal },
    );
    return scopeFailure === undefined ? created : markIncomplete(created, scopeFailure);
  }

  function scopeFor(summary: SweepSummary, unit: string): InventoryScope {
    const subs = unit === "all" ? summary.subscriptionIds : [unit];
    return {
      subscriptionIds: subs,
      vaultSubscriptionIds: [...new Set([...summary.subscriptionIds, ...mappedVaultIds.map(subscriptionOf)])],
      vaultIds: mappedVaultIds,
      ...(unit === "all" ? {} : { datasourceSubscriptionId: unit }),
    };
  }

  /**
   * Fan-out: the vault-wide reads (vaults, instances, job histories, policies) happen once, here, and are
   * stored for the units, so ARM calls grow with subscriptions + vaults, not subscriptions × vaults.
   * Their failures and ARM requests go on the summary once. Units are enqueued only after it is stored.
   */
  async function storeVaultInventory(
    summary: SweepSummary,
    abortSignal?: AbortSignal,
  ): Promise<SweepSummary> {
    const units = summary.subscriptionIds;
    if (!deps.inventory.collectVaults) return { ...summary, scopeUnits: [...units] };
    const v = await deps.inventory.collectVaults(scopeFor(summary, "all"), { abortSignal });
    const parts: Record<string, unknown> = {
      [VAULTS_PART]: { ...v, instances: [], failures: [] } satisfies VaultInventory,
    };
    for (const sub of units) parts[`ds-${sub}`] = instancesOfSubscription(v.instances, sub);
    await deps.store.putVaultParts(summary.id, parts, { abortSignal });
    return {
      ...summary,
      scopeUnits: [...units],
      failureCount: summary.failureCount + v.failures.length,
      failures: [...summary.failures, ...v.failures].slice(0, MAX_LISTED_ITEMS),
      armRequests: summary.armRequests + v.armRequests,
    };
  }

  /** A fanned-out unit's share of the stored vault inventory; undefined when the sweep stored none. */
  async function storedVaultInventory(
    summary: SweepSummary,
    unit: string,
    abortSignal?: AbortSignal,
  ): Promise<VaultInventory | undefined> {
    if (unit === "all") return undefined;
    const shared = (await deps.store.getVaultPart(summary.id, VAULTS_PART, { abortSignal })) as
      VaultInventory | undefined;
    if (!shared) return undefined;
    const instances = await deps.store.getVaultPart(summary.id, `ds-${unit}`, { abortSignal });
    // Written with the shared part before any unit was enqueued: missing means a torn write, never "no instances".
    if (!Array.isArray(instances))
      throw new Error(`Sweep ${summary.id} has no stored backup instances for unit ${unit}.`);
    return { ...shared, instances: instances as VaultInventory["instances"] };
  }

  /** The worker's rows of servers in scope; a read failure is listed, never fatal. */
  async function readRecords(
    inScope: ReadonlySet<string>,
    abortSignal: AbortSignal | undefined,
  ): Promise<{ records: Map<string, ServerRecordLike>; failure?: SweepFailure }> {
    const records = new Map<string, ServerRecordLike>();
    if (!deps.listServerRecords) return { records };
    try {
      for await (const r of deps.listServerRecords({ abortSignal })) {
        const id = r.resourceId.toLowerCase();
        if (inScope.has(subscriptionOf(id))) records.set(id, r);
      }
      return { records };
    } catch (e) {
      if (abortSignal?.aborted) throw e;
      return { records, failure: toFailure("sweep", "servers table", e) };
    }
  }

  /** The previous finished sweep's classes of servers in scope; undefined (and a failure) when unreadable. */
  async function readPreviousRows(
    summary: SweepSummary,
    unit: string,
    inScope: ReadonlySet<string>,
    abortSignal: AbortSignal | undefined,
  ): Promise<{ previous?: Map<string, SweepRow>; failure?: SweepFailure }> {
    if (!summary.previousSweepId) return {};
    const previous = new Map<string, SweepRow>();
    const select: Array<keyof SweepRow> = ["serverId", "subscriptionId", "class"];
    const filter = unit === "all" ? {} : { subscriptionId: unit };
    try {
      for await (const r of deps.store.listRows(summary.previousSweepId, {
        select,
        abortSignal,
        ...filter,
      })) {
        if (inScope.has(r.subscriptionId)) previous.set(r.serverId, r);
      }
      return { previous };
    } catch (e) {
      return { failure: toFailure("sweep", summary.previousSweepId, e) };
    }
  }

  /** Classifies one unit's servers (and orphaned instances), remediates, writes rows. */
  async function processUnit(
    summary: SweepSummary,
    unit: string,
    abortSignal: AbortSignal | undefined,
  ): Promise<{ result: ScopeResult; rows: SweepRow[] }> {
    const scope = scopeFor(summary, unit);
    const inScope = new Set(scope.subscriptionIds);
    // The worker's records and the previous sweep's rows are Table reads independent of the inventory:
    // they run while ARM pages arrive.
    const recordsRead = awaitedLater(readRecords(inScope, abortSignal));
    const previousRead = awaitedLater(readPreviousRows(summary, unit, inScope, abortSignal));
    const restoreTestsOn = config.restoreTestsEnabled === true;
    const restoreTestsRead = deps.restoreTests
      ? awaitedLater(
          readRestoreTestSummaries({
            enabled: restoreTestsOn,
            maxAgeDays: config.restoreTestMaxAgeDays ?? 35,
            reader: deps.restoreTests,
            inScope,
            ...(abortSignal ? { abortSignal } : {}),
          }),
        )
      : undefined;
    const vaults = await storedVaultInventory(summary, unit, abortSignal);
    const snap: InventorySnapshot = await deps.inventory.collect(scope, {
      abortSignal,
      ...(vaults ? { vaults } : {}),
    });
    const failures: SweepFailure[] = [...snap.failures];

    const managed = new Set(mappedVaultIds);
    const expectedByRegion = new Map<string, string>();
    for (const [region, id] of Object.entries(config.vaultMap))
      expectedByRegion.set(region, id.toLowerCase());
    if (config.vaultMarkerTag) {
      const marker = config.vaultMarkerTag.toLowerCase();
      for (const v of [...snap.vaults].sort((a, b) => a.id.localeCompare(b.id))) {
        if (!Object.keys(v.tags).some((k) => k.toLowerCase() === marker)) continue;
        managed.add(v.id);
        if (v.location && !expectedByRegion.has(v.location)) expectedByRegion.set(v.location, v.id);
      }
    }
    const unreadVaults = snap.vaults.filter((v) => !snap.completeVaultIds.has(v.id)).map((v) => v.id);
    const gaps: string[] = [];
    if (!snap.vaultDiscoveryComplete) gaps.push("the Backup vaults of a subscription could not be listed");
    if (unreadVaults.length) {
      gaps.push(
        `vault ${unreadVaults.map((v) => v.slice(v.lastIndexOf("/") + 1)).join(", ")} could not be read`,
      );
    }
    const inventoryGap = gaps.length ? gaps.join("; ") : undefined;

    const byDatasource = new Map<string, InventoryInstance[]>();
    for (const i of snap.instances) {
      const list = byDatasource.get(i.datasourceId) ?? [];
      list.push(i);
      byDatasource.set(i.datasourceId, list);
    }

    const { records, failure: recordsFailure } = await recordsRead;
    if (recordsFailure) failures.push(recordsFailure);

    const at = now();
    const rows: SweepRow[] = [];
    const seen = new Set<string>();
    // Servers the worker waits on: enqueued once Ready, left alone (with the reason) while still stopped.
    const readyAgain = new Set<string>();
    const stillStopped = new Set<string>();
    for (const server of snap.servers) {
      if (!inScope.has(server.subscriptionId) || seen.has(server.id)) continue;
      seen.add(server.id);
      const record = records.get(server.id);
      let c = classifyServer({
        server,
        instances: byDatasource.get(server.id) ?? [],
        managedVaultIds: managed,
        expectedVaultId: expectedByRegion.get(server.location),
        ...(record ? { record } : {}),
        ...(inventoryGap ? { inventoryGap } : {}),
        rules,
        now: at,
      });
      const wait = serverWait(record, server);
      if (wait === "ready") readyAgain.add(server.id);
      if (wait === "stopped" && c.class === "TaggedUnprotected") {
        stillStopped.add(server.id);
        c = waitingForReady(server, c);
      }
      if (readBackupTag(server.tags, rules.backupTag).kind === "malformed") {
        failures.push({ scope: "server", target: server.id, code: "MalformedTags", message: c.reason });
      }
      rows.push({
        serverId: server.id,
        subscriptionId: server.subscriptionId,
        location: server.location,
        ...c,
      });
    }
    const orphans: Array<[string, InventoryInstance[]]> = [];
    for (const [datasourceId, instances] of byDatasource) {
      if (seen.has(datasourceId) || !parseServerId(datasourceId)) continue;
      const sub = subscriptionOf(datasourceId);
      // Another unit's (or an out-of-scope) server; or its subscription could not be listed: not "gone".
      if (!inScope.has(sub) || !snap.completeSubscriptionIds.has(sub)) continue;
      orphans.push([datasourceId, instances]);
    }
    // Listings can lag or omit what the identity cannot read: "Deleted" only after a GET says 404.
    await mapWithConcurrency(orphans, 8, async ([datasourceId, instances]) => {
      try {
        if (await deps.inventory.serverExists(datasourceId, { abortSignal })) {
          failures.push({
            scope: "server",
            target: datasourceId,
            code: "InventoryIncomplete",
            message: `Server ${datasourceId} exists but was missing from the inventory; classified next sweep.`,
          });
          return;
        }
      } catch (e) {
        if (abortSignal?.aborted) throw e;
        failures.push(toFailure("server", datasourceId, e));
        return;
      }
      seen.add(datasourceId);
      rows.push({
        serverId: datasourceId,
        subscriptionId: subscriptionOf(datasourceId),
        ...classifyOrphan(datasourceId, instances),
      });
    });

    const remediation = { enqueued: 0, wouldEnqueue: 0, failed: 0 };
    const owed = rows.filter(
      (r) => (RemediatedClasses.has(r.class) && !stillStopped.has(r.serverId)) || readyAgain.has(r.serverId),
    );
    if (summary.dryRun) {
      for (const r of owed) r.remediation = "wouldEnqueue";
      remediation.wouldEnqueue = owed.length;
    } else {
      await mapWithConcurrency(owed, deps.remediationConcurrency ?? 16, async (r) => {
        try {
          await deps.enqueueProtection(
            { serverId: r.serverId, sweepId: summary.id, reason: r.class },
            { abortSignal },
          );
          r.remediation = "enqueued";
          remediation.enqueued++;
        } catch (e) {
          if (abortSignal?.aborted) throw e;
          r.remediation = "failed";
          remediation.failed++;
          failures.push(toFailure("remediation", r.serverId, e));
        }
      });
    }

    const { previous, failure: previousFailure } = await previousRead;
    if (previousFailure) failures.push(previousFailure);
    const diff = diffRows(rows, previous, summary.previousSweepId, (r) =>
      snap.completeSubscriptionIds.has(r.subscriptionId),
    );

    const tested = restoreTestsRead && (await restoreTestsRead);
    if (tested?.failure) failures.push(tested.failure);
    const restoreTests =
      tested &&
      flagRestoreUntested(rows, {
        enabled: restoreTestsOn,
        maxAgeDays: config.restoreTestMaxAgeDays ?? 35,
        summaries: tested.summaries,
        protectedAt: (serverId) => records.get(serverId.toLowerCase())?.protectedAt,
        now: at,
      });

    abortSignal?.throwIfAborted();
    await deps.store.writeRows(summary.id, rows, { abortSignal });
    observeSweepRows(rows, records, unit);
    return {
      rows,
      result: {
        unit,
        total: rows.length,
        counts: countClasses(rows),
        remediation,
        failureCount: failures.length,
        failures: failures.slice(0, MAX_LISTED_ITEMS),
        diff,
        armRequests: snap.armRequests + orphans.length,
        ...(restoreTests ? { restoreTests } : {}),
        finishedAt: now().toISOString(),
      },
    };
  }

  async function markIncomplete(summary: SweepSummary, e: unknown): Promise<SweepSummary> {
    const failure = toFailure("sweep", summary.id, e);
    const updated: SweepSummary = {
      ...summary,
      status: "Incomplete",
      finishedAt: now().toISOString(),
      failureCount: summary.failureCount + 1,
      failures: [...summary.failures, failure].slice(0, MAX_LISTED_ITEMS),
    };
    try {
      return await deps.store.updateSweep(updated);
    } catch (err) {
      log.error(`Could not record sweep ${summary.id} as Incomplete: ${ensureError(err).message}`);
      return updated;
    }
  }

  async function tryFinalize(sweepId: string, abortSignal?: AbortSignal): Promise<void> {
    const summary = await deps.store.getSweep(sweepId, { abortSignal });
    if (!summary || summary.status !== "Running") return;
    const results = await deps.store.listScopeResults(sweepId, { abortSignal });
    const done = new Set(results.map((r) => r.unit));
    if (!summary.scopeUnits.every((u) => done.has(u))) return;
    try {
      const final = await deps.store.updateSweep(finalizeSummary(summary, results, now()), { abortSignal });
      observeCompliance(final.compliancePercent);
      log.info(
        `Sweep ${sweepId} ${final.status}: ${final.total} servers, ${final.compliancePercent}% compliant.`,
      );
    } catch (e) {
      if (e instanceof ConflictError) return; // another unit's worker finalized it
      throw e;
    }
  }

  return {
    async runSweep(options = {}) {
      const summary = await begin(options);
      if (summary.status !== "Running") return { summary, rows: [] };
      try {
        const { result, rows } = await processUnit(summary, "all", options.abortSignal);
        const final = await deps.store.updateSweep(finalizeSummary(summary, [result], now()));
        observeCompliance(final.compliancePercent);
        log.info(
          `Sweep ${final.id} ${final.status}: ${final.total} servers, ${final.compliancePercent}% compliant.`,
        );
        return { summary: final, rows };
      } catch (e) {
        log.warn(`Sweep ${summary.id} stopped: ${ensureError(e).message}`);
        return { summary: await markIncomplete(summary, e), rows: [] };
      }
    },
    async startSweep(options = {}) {
      if (!deps.scopeQueue)
        throw new TypeError("startSweep needs a scopeQueue (the sweep-scopes queue sender).");
      let summary = await begin(options);
      if (summary.status !== "Running") return summary;
      const fanOut = summary.subscriptionIds.length > (deps.fanOutMinSubscriptions ?? 20);
      if (fanOut) {
        try {
          summary = await deps.store.updateSweep(await storeVaultInventory(summary, options.abortSignal));
        } catch (e) {
          log.warn(`Sweep ${summary.id} stopped before its units were enqueued: ${ensureError(e).message}`);
          return markIncomplete(summary, e);
        }
      }
      for (const unit of summary.scopeUnits) {
        await deps.scopeQueue.send({ sweepId: summary.id, unit }, { abortSignal: options.abortSignal });
      }
      return summary;
    },
    async processScope(message, options = {}) {
      const summary = await deps.store.getSweep(message.sweepId, options);
      if (!summary) {
        log.warn(`Sweep ${message.sweepId} not found; dropping its unit ${message.unit}.`);
        return;
      }
      if (presentSweep(summary, now()).status !== "Running") return;
      if (!summary.scopeUnits.includes(message.unit)) {
        log.warn(`Sweep ${message.sweepId} has no unit ${message.unit}; dropping it.`);
        return;
      }
      const results = await deps.store.listScopeResults(summary.id, options);
      if (!results.some((r) => r.unit === message.unit)) {
        // Throws on unexpected errors so the queue retries (resume); Azure failures are already listed in the result.
        const { result } = await processUnit(summary, message.unit, options.abortSignal);
        await deps.store.putScopeResult(summary.id, result, options);
      }
      await tryFinalize(summary.id, options.abortSignal);
    },
    async abandonScope(message, reason) {
      const summary = await deps.store.getSweep(message.sweepId);
      if (!summary || summary.status !== "Running") return;
      await markIncomplete(summary, new Error(`Unit ${message.unit} was abandoned: ${reason}`));
    },
    async getSweep(id, options = {}) {
      const s = await deps.store.getSweep(id, options);
      return s && presentSweep(s, now());
    },
    listRows: (sweepId, options = {}) => deps.store.listRowsPage(sweepId, options),
    async latestSweep(options = {}) {
      const [s] = await deps.store.listSweeps({ top: 1, ...options });
      return s && presentSweep(s, now());
    },
  };
}
