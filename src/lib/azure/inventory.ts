import { normalizeRegion } from "../config/settings.js";
import { ensureError, isRestError } from "../errors.js";
import type {
  InventoryInstance,
  InventoryServer,
  InventoryVault,
  SweepFailure,
} from "../compliance/types.js";

/**
 * Inventory of everything a compliance sweep classifies: servers with their tags, Backup vaults, backup
 * instances with protection state and policy, and each instance's last successful backup (vault job
 * history). Two sources behind one interface: Azure Resource Graph (one paged query covers every
 * subscription) and per-subscription / per-vault ARM list calls. Either way the number of ARM requests
 * grows with subscriptions, vaults and pages, never with servers. A failing subscription or vault becomes
 * a {@link SweepFailure}; collection goes on.
 */

export interface InventoryScope {
  /** Subscriptions whose servers are swept (lower-case). */
  subscriptionIds: readonly string[];
  /** Subscriptions searched for Backup vaults (the scope plus the vault map's subscriptions). */
  vaultSubscriptionIds: readonly string[];
  /** Vaults that must be read even if discovery misses them (vault map), lower-case ids. */
  vaultIds?: readonly string[];
  /**
   * Only backup instances of servers in this subscription are needed (a fanned-out unit). Resource Graph
   * filters on it; ARM lists cannot, and read every instance of every vault.
   */
  datasourceSubscriptionId?: string;
}

export interface InventorySnapshot {
  servers: InventoryServer[];
  vaults: InventoryVault[];
  instances: InventoryInstance[];
  failures: SweepFailure[];
  /** Subscriptions whose servers were listed completely: only there can an instance's server be "gone". */
  completeSubscriptionIds: Set<string>;
  /** Vaults whose instances were listed completely. */
  completeVaultIds: Set<string>;
  /** Every vault subscription's vaults were listed (else marker-tagged vaults may be missing). */
  vaultDiscoveryComplete: boolean;
  /** ARM requests made (pages count one each). */
  armRequests: number;
}

/**
 * The vault-wide part of an inventory: vaults, their backup instances and each instance's last successful
 * backup (job history) and policy period. A fanned-out sweep reads it once ({@link InventorySource.collectVaults})
 * and hands it to every unit's {@link InventorySource.collect} (`vaults` option), so job histories are read
 * once per sweep, not once per subscription. Plain JSON (no Sets) so it can be stored between the two.
 */
export interface VaultInventory {
  vaults: InventoryVault[];
  /** Backup instances with `lastSuccessfulBackupAt`, `lastBackupUnknown` and `policyPeriodInMs` filled in. */
  instances: InventoryInstance[];
  failures: SweepFailure[];
  /** Vaults whose instances were listed completely. */
  completeVaultIds: string[];
  /** Every vault subscription's vaults were listed (else marker-tagged vaults may be missing). */
  vaultDiscoveryComplete: boolean;
  /** ARM requests made (pages count one each). */
  armRequests: number;
}

export interface CollectInventoryOptions {
  abortSignal?: AbortSignal;
  /**
   * Vault-wide inventory already read for this sweep (see {@link VaultInventory}): `collect` then lists only
   * the scope's servers, and takes vaults and instances from here (instances of other subscriptions'
   * servers dropped when `datasourceSubscriptionId` is set). Its failures and ARM requests are not repeated
   * in the snapshot: whoever read it reports them.
   */
  vaults?: VaultInventory;
}

export interface InventorySource {
  readonly kind: "resourceGraph" | "arm";
  /** Subscriptions the identity can read (used when PGFLEX_SCOPES is empty). */
  listSubscriptions(options?: CollectInventoryOptions): Promise<string[]>;
  collect(scope: InventoryScope, options?: CollectInventoryOptions): Promise<InventorySnapshot>;
  /**
   * Only the vault-wide reads (vault discovery, instances, job histories, policies) for `scope`'s vault
   * subscriptions and vault ids; pass the result to `collect` as `vaults`.
   */
  collectVaults?(scope: InventoryScope, options?: CollectInventoryOptions): Promise<VaultInventory>;
  /**
   * Confirms that a server an instance points to is really gone (GET answers 404) before the sweep calls
   * the instance `Deleted`: listings can lag or silently omit what the identity cannot read. Throws when ARM
   * cannot tell (403, throttling…).
   */
  serverExists(serverId: string, options?: CollectInventoryOptions): Promise<boolean>;
}

// ---------- raw ARM shapes (only what is read) ----------

export interface RawResource {
  id?: string;
  name?: string;
  type?: string;
  location?: string;
  subscriptionId?: string;
  resourceGroup?: string;
  tags?: unknown;
  properties?: Record<string, unknown>;
  /** The PG SDK flattens `properties.state` to `state`. */
  state?: string;
}

export interface RawJob {
  id?: string;
  properties?: {
    backupInstanceId?: string;
    dataSourceId?: string;
    operation?: string;
    operationCategory?: string;
    status?: string;
    startTime?: string;
    endTime?: string;
  };
}

export interface ListOptions {
  abortSignal?: AbortSignal;
}

/** A page of a list call; each page is one ARM request. */
export type PageStream<T> = AsyncIterable<T[]>;

/** The ARM list calls the inventory needs, page by page. Real ones in ./inventory/armReaders.ts. */
export interface ArmListReaders {
  listSubscriptions(options?: ListOptions): PageStream<{ subscriptionId?: string; state?: string }>;
  listServers(subscriptionId: string, options?: ListOptions): PageStream<RawResource>;
  listVaults(subscriptionId: string, options?: ListOptions): PageStream<RawResource>;
  listBackupInstances(vaultId: string, options?: ListOptions): PageStream<RawResource>;
  listJobs(vaultId: string, options?: ListOptions): PageStream<RawJob>;
  /** GET of one server; undefined when ARM answers 404. */
  getServer(serverId: string, options?: ListOptions): Promise<RawResource | undefined>;
  /** Optional: policies give the backup period used for staleness (default P1W otherwise). */
  listPolicies?(vaultId: string, options?: ListOptions): PageStream<RawResource>;
}

export interface ResourceGraphRequest {
  query: string;
  subscriptions?: string[];
  skipToken?: string;
  top?: number;
}

export interface ResourceGraphPage {
  data: unknown[];
  skipToken?: string;
}

/** One Resource Graph `resources` call (`POST /providers/Microsoft.ResourceGraph/resources`). */
export type ResourceGraphQuery = (
  request: ResourceGraphRequest,
  options?: ListOptions,
) => Promise<ResourceGraphPage>;

export interface InventoryOptions {
  /** Parallel ARM calls (subscriptions, vaults). Default 16. */
  concurrency?: number;
}

// ---------- normalisation ----------

const lower = (s: string | undefined): string => (s ?? "").toLowerCase();

function segment(id: string, name: string): string | undefined {
  const parts = id.split("/");
  const i = parts.findIndex((p) => p.toLowerCase() === name);
  return i >= 0 ? parts[i + 1] : undefined;
}

export function toInventoryServer(raw: RawResource): InventoryServer | undefined {
  if (!raw.id) return undefined;
  const id = lower(raw.id);
  const state = raw.state ?? (typeof raw.properties?.state === "string" ? raw.properties.state : undefined);
  return {
    id,
    name: lower(raw.name ?? id.slice(id.lastIndexOf("/") + 1)),
    subscriptionId: lower(raw.subscriptionId ?? segment(id, "subscriptions")),
    resourceGroup: lower(raw.resourceGroup ?? segment(id, "resourcegroups")),
    location: normalizeRegion(raw.location ?? ""),
    tags: raw.tags,
    ...(state ? { state } : {}),
  };
}

export function toInventoryVault(raw: RawResource): InventoryVault | undefined {
  if (!raw.id) return undefined;
  const id = lower(raw.id);
  const tags: Record<string, string> = {};
  if (raw.tags && typeof raw.tags === "object" && !Array.isArray(raw.tags)) {
    for (const [k, v] of Object.entries(raw.tags as Record<string, unknown>))
      if (typeof v === "string") tags[k] = v;
  }
  return {
    id,
    name: lower(raw.name ?? id.slice(id.lastIndexOf("/") + 1)),
    subscriptionId: lower(raw.subscriptionId ?? segment(id, "subscriptions")),
    location: normalizeRegion(raw.location ?? ""),
    tags,
  };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function toInventoryInstance(raw: RawResource): InventoryInstance | undefined {
  if (!raw.id) return undefined;
  const id = lower(raw.id);
  const cut = id.indexOf("/backupinstances/");
  if (cut < 0) return undefined;
  const p = raw.properties ?? {};
  const ds = (p.dataSourceInfo ?? {}) as Record<string, unknown>;
  const datasourceId = str(ds.resourceID) ?? str(ds.resourceId);
  if (!datasourceId) return undefined;
  const status = (p.protectionStatus ?? {}) as Record<string, unknown>;
  const errorDetails = (status.errorDetails ?? p.protectionErrorDetails ?? {}) as Record<string, unknown>;
  const policyId = str(((p.policyInfo ?? {}) as Record<string, unknown>).policyId);
  const out: InventoryInstance = {
    id,
    name: lower(raw.name ?? id.slice(id.lastIndexOf("/") + 1)),
    vaultId: id.slice(0, cut),
    datasourceId: lower(datasourceId),
  };
  const protectionStatus = str(status.status);
  if (protectionStatus) out.protectionStatus = protectionStatus;
  const current = str(p.currentProtectionState);
  if (current) out.currentProtectionState = current;
  const code = str(errorDetails.code);
  if (code) out.errorCode = code;
  const message = str(errorDetails.message);
  if (message) out.errorMessage = message;
  if (policyId) {
    out.policyId = lower(policyId);
    out.policyName = lower(policyId.slice(policyId.lastIndexOf("/") + 1));
  }
  return out;
}

/** `P1W`, `P1D`, `PT4H`… → ms; undefined for anything else. */
export function isoDurationToMs(duration: string): number | undefined {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(duration.trim());
  if (!m || duration.trim().toUpperCase() === "P" || duration.trim().toUpperCase() === "PT") return undefined;
  const [, w, d, h, min, s] = m.map((x) => (x ? Number(x) : 0)) as number[];
  const ms = ((((w ?? 0) * 7 + (d ?? 0)) * 24 + (h ?? 0)) * 60 + (min ?? 0)) * 60_000 + (s ?? 0) * 1000;
  return ms > 0 ? ms : undefined;
}

/** Backup period of a Data Protection policy: the shortest repeating interval of its backup rules. */
export function policyPeriodInMs(raw: RawResource): number | undefined {
  const rules = (raw.properties?.policyRules ?? []) as Array<Record<string, unknown>>;
  let best: number | undefined;
  for (const rule of Array.isArray(rules) ? rules : []) {
    const trigger = (rule.trigger ?? {}) as Record<string, unknown>;
    const schedule = (trigger.schedule ?? {}) as Record<string, unknown>;
    const intervals = Array.isArray(schedule.repeatingTimeIntervals) ? schedule.repeatingTimeIntervals : [];
    for (const interval of intervals) {
      if (typeof interval !== "string") continue;
      const period = interval.split("/").pop() ?? "";
      const ms = isoDurationToMs(period);
      if (ms !== undefined && (best === undefined || ms < best)) best = ms;
    }
  }
  return best;
}

function isSuccessfulBackup(job: RawJob): boolean {
  const p = job.properties ?? {};
  const op = lower(p.operationCategory ?? p.operation);
  return lower(p.status) === "completed" && op.includes("backup");
}

export function toFailure(scope: SweepFailure["scope"], target: string, e: unknown): SweepFailure {
  const err = ensureError(e);
  if (isRestError(err)) {
    return {
      scope,
      target,
      code: err.code ?? `HTTP${err.statusCode ?? ""}`,
      message: err.message.split("\n")[0] ?? err.message,
    };
  }
  return { scope, target, code: err.name, message: err.message };
}

export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/** Starts `promise` now to await it later: a rejection meanwhile (abort) is not reported as unhandled. */
export function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Runs at most `limit` tasks at once, in the order they were handed in. */
export function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (running >= Math.max(1, limit)) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

// ---------- shared per-vault work (job history, policies) ----------

interface VaultDetails {
  lastBackup: Map<string, string>;
  periods: Map<string, number>;
  /** The job history could not be read (completely). */
  jobsUnknown: boolean;
}

async function vaultDetails(
  readers: Pick<ArmListReaders, "listJobs" | "listPolicies">,
  vaultId: string,
  count: () => void,
  failures: SweepFailure[],
  options: CollectInventoryOptions,
): Promise<VaultDetails> {
  const lastBackup = new Map<string, string>();
  const periods = new Map<string, number>();
  let jobsUnknown = false;
  try {
    for await (const page of readers.listJobs(vaultId, options)) {
      count();
      options.abortSignal?.throwIfAborted();
      for (const job of page) {
        if (!isSuccessfulBackup(job)) continue;
        const p = job.properties ?? {};
        const at = p.endTime ?? p.startTime;
        if (!at) continue;
        for (const key of [p.backupInstanceId, p.dataSourceId]) {
          if (!key) continue;
          const k = lower(key);
          const prev = lastBackup.get(k);
          if (!prev || Date.parse(at) > Date.parse(prev)) lastBackup.set(k, at);
        }
      }
    }
  } catch (e) {
    if (options.abortSignal?.aborted) throw e;
    jobsUnknown = true;
    failures.push(toFailure("jobs", vaultId, e));
  }
  if (readers.listPolicies) {
    try {
      for await (const page of readers.listPolicies(vaultId, options)) {
        count();
        for (const policy of page) {
          const ms = policyPeriodInMs(policy);
          if (policy.id && ms) periods.set(lower(policy.id), ms);
        }
      }
    } catch (e) {
      if (options.abortSignal?.aborted) throw e;
      failures.push(toFailure("vault", vaultId, e));
    }
  }
  return { lastBackup, periods, jobsUnknown };
}

function enrich(instances: InventoryInstance[], details: Map<string, VaultDetails>): void {
  for (const i of instances) {
    const d = details.get(i.vaultId);
    if (!d) continue;
    const last = d.lastBackup.get(i.id) ?? d.lastBackup.get(i.datasourceId);
    if (last) i.lastSuccessfulBackupAt = last;
    else if (d.jobsUnknown) i.lastBackupUnknown = true;
    const period = i.policyId ? d.periods.get(i.policyId) : undefined;
    if (period) i.policyPeriodInMs = period;
  }
}

async function listSubscriptionIds(
  readers: Pick<ArmListReaders, "listSubscriptions">,
  options: ListOptions,
): Promise<string[]> {
  const out: string[] = [];
  for await (const page of readers.listSubscriptions(options)) {
    for (const s of page)
      if (s.subscriptionId && (!s.state || /enabled|warned|pastdue/i.test(s.state)))
        out.push(lower(s.subscriptionId));
  }
  return [...new Set(out)].sort();
}

/** Instances of servers in `subscriptionId` (their datasource id's subscription); all when undefined. */
export function instancesOfSubscription(
  instances: readonly InventoryInstance[],
  subscriptionId: string | undefined,
): InventoryInstance[] {
  if (!subscriptionId) return [...instances];
  const prefix = `/subscriptions/${subscriptionId.toLowerCase()}/`;
  return instances.filter((i) => i.datasourceId.startsWith(prefix));
}

/** A snapshot from this unit's servers and the sweep's vault-wide inventory. */
function withVaults(
  scope: InventoryScope,
  vaults: VaultInventory,
  servers: { servers: InventoryServer[]; completeSubscriptionIds: Set<string> },
  failures: SweepFailure[],
  armRequests: number,
): InventorySnapshot {
  return {
    servers: servers.servers,
    vaults: structuredClone(vaults.vaults),
    instances: structuredClone(instancesOfSubscription(vaults.instances, scope.datasourceSubscriptionId)),
    failures,
    completeSubscriptionIds: servers.completeSubscriptionIds,
    completeVaultIds: new Set(vaults.completeVaultIds),
    vaultDiscoveryComplete: vaults.vaultDiscoveryComplete,
    armRequests,
  };
}

function addMappedVaults(vaults: Map<string, InventoryVault>, scope: InventoryScope): void {
  for (const id of scope.vaultIds ?? []) {
    if (!vaults.has(id)) {
      const v = toInventoryVault({ id });
      if (v) vaults.set(id, v);
    }
  }
}

interface Counter {
  count(): void;
  readonly value: number;
}

function counter(): Counter {
  let n = 0;
  return {
    count: () => void n++,
    get value() {
      return n;
    },
  };
}

type ServerLister = (
  scope: InventoryScope,
  requests: Counter,
  failures: SweepFailure[],
  options: CollectInventoryOptions,
) => Promise<{ servers: InventoryServer[]; completeSubscriptionIds: Set<string> }>;

/** The parts both inventory sources share: a unit's snapshot is its servers plus the vault-wide reads. */
function composeInventory(
  kind: InventorySource["kind"],
  readers: Pick<ArmListReaders, "listSubscriptions" | "getServer">,
  listServers: ServerLister,
  collectVaults: NonNullable<InventorySource["collectVaults"]>,
): InventorySource {
  return {
    kind,
    listSubscriptions: (o = {}) => listSubscriptionIds(readers, o),
    serverExists: async (id, o = {}) => (await readers.getServer(id, o)) !== undefined,
    collectVaults,
    async collect(scope, o = {}) {
      const requests = counter();
      const failures: SweepFailure[] = [];
      if (o.vaults) {
        const listed = await listServers(scope, requests, failures, o);
        return withVaults(scope, o.vaults, listed, failures, requests.value);
      }
      const [listed, v] = await Promise.all([
        listServers(scope, requests, failures, o),
        collectVaults(scope, o),
      ]);
      return {
        ...listed,
        vaults: v.vaults,
        instances: v.instances,
        failures: [...failures, ...v.failures],
        completeVaultIds: new Set(v.completeVaultIds),
        vaultDiscoveryComplete: v.vaultDiscoveryComplete,
        armRequests: requests.value + v.armRequests,
      };
    },
  };
}

// ---------- per-subscription ARM lists ----------

export function createArmInventory(readers: ArmListReaders, options: InventoryOptions = {}): InventorySource {
  const concurrency = options.concurrency ?? 16;

  async function listServers(
    scope: InventoryScope,
    requests: Counter,
    failures: SweepFailure[],
    o: CollectInventoryOptions,
  ): Promise<{ servers: InventoryServer[]; completeSubscriptionIds: Set<string> }> {
    const servers: InventoryServer[] = [];
    const completeSubscriptionIds = new Set<string>();
    await mapLimit(scope.subscriptionIds, concurrency, async (sub) => {
      const mine: InventoryServer[] = [];
      try {
        for await (const page of readers.listServers(sub, o)) {
          requests.count();
          o.abortSignal?.throwIfAborted();
          for (const raw of page) {
            const s = toInventoryServer({ subscriptionId: sub, ...raw });
            if (s) mine.push(s);
          }
        }
        servers.push(...mine);
        completeSubscriptionIds.add(sub);
      } catch (e) {
        if (o.abortSignal?.aborted) throw e;
        servers.push(...mine);
        failures.push(toFailure("subscription", sub, e));
      }
    });
    return { servers, completeSubscriptionIds };
  }

  async function collectVaults(
    scope: InventoryScope,
    o: CollectInventoryOptions = {},
  ): Promise<VaultInventory> {
    const requests = counter();
    const failures: SweepFailure[] = [];
    const vaults = new Map<string, InventoryVault>();
    const instances: InventoryInstance[] = [];
    const completeVaultIds: string[] = [];
    const details = new Map<string, VaultDetails>();
    // A vault's instance and job lists are chains of nextLinks, the longest part of a sweep: each vault's
    // chains start as soon as the vault is known (mapped, or its subscription's page listed it), not after
    // every subscription's vaults were listed.
    const vaultReads = new Map<string, Promise<void>>();
    const readSlot = limiter(concurrency);
    const readVault = (vaultId: string): void => {
      if (vaultReads.has(vaultId)) return;
      const read = readSlot(async () => {
        const found: InventoryInstance[] = [];
        const [listed, d] = await Promise.all([
          (async () => {
            try {
              for await (const page of readers.listBackupInstances(vaultId, o)) {
                requests.count();
                o.abortSignal?.throwIfAborted();
                for (const raw of page) {
                  const i = toInventoryInstance(raw);
                  if (i) found.push(i);
                }
              }
              return true;
            } catch (e) {
              if (o.abortSignal?.aborted) throw e;
              failures.push(toFailure("vault", vaultId, e));
              return false;
            }
          })(),
          vaultDetails(readers, vaultId, requests.count, failures, o),
        ]);
        instances.push(...found);
        details.set(vaultId, d);
        if (listed) completeVaultIds.push(vaultId);
      });
      vaultReads.set(vaultId, awaitedLater(read)); // awaited after discovery
    };
    for (const id of scope.vaultIds ?? []) readVault(id);
    let vaultDiscoveryComplete = true;
    await mapLimit(scope.vaultSubscriptionIds, concurrency, async (sub) => {
      try {
        for await (const page of readers.listVaults(sub, o)) {
          requests.count();
          for (const raw of page) {
            const v = toInventoryVault(raw);
            if (!v) continue;
            vaults.set(v.id, v);
            readVault(v.id);
          }
        }
      } catch (e) {
        if (o.abortSignal?.aborted) throw e;
        vaultDiscoveryComplete = false;
        failures.push(toFailure("subscription", sub, e));
      }
    });
    addMappedVaults(vaults, scope);
    await Promise.all(vaultReads.values());
    enrich(instances, details);
    return {
      vaults: [...vaults.values()],
      instances,
      failures,
      completeVaultIds,
      vaultDiscoveryComplete,
      armRequests: requests.value,
    };
  }

  return composeInventory("arm", readers, listServers, collectVaults);
}

// ---------- Azure Resource Graph ----------

/** KQL sent to Resource Graph; the emulator's provider supports exactly this subset. */
export const ResourceGraphQueries = {
  // Only the state of a server's properties: a page of 1,000 full server bodies is ten times larger.
  servers:
    "resources | where type =~ 'microsoft.dbforpostgresql/flexibleservers' | project id, name, type, location, subscriptionId, resourceGroup, tags, state = properties.state",
  vaults:
    "resources | where type =~ 'microsoft.dataprotection/backupvaults' | project id, name, type, location, subscriptionId, resourceGroup, tags",
  instances:
    "resources | where type =~ 'microsoft.dataprotection/backupvaults/backupinstances' | project id, name, type, subscriptionId, properties",
  /** Instances protecting servers of one subscription (a fanned-out unit). */
  instancesOf: (subscriptionId: string): string =>
    `resources | where type =~ 'microsoft.dataprotection/backupvaults/backupinstances' and properties.dataSourceInfo.resourceID startswith '/subscriptions/${subscriptionId.replace(/[^0-9a-f-]/gi, "")}/' | project id, name, type, subscriptionId, properties`,
};

/** Rows per Resource Graph page (the service's maximum). */
export const RESOURCE_GRAPH_PAGE_SIZE = 1000;

export function createResourceGraphInventory(
  query: ResourceGraphQuery,
  readers: Pick<ArmListReaders, "listSubscriptions" | "listJobs" | "listPolicies" | "getServer">,
  options: InventoryOptions = {},
): InventorySource {
  const concurrency = options.concurrency ?? 16;

  /** Every page of one query; undefined (failure listed) when any page fails. */
  async function all(
    kql: string,
    subscriptions: readonly string[],
    requests: Counter,
    failures: SweepFailure[],
    o: CollectInventoryOptions,
  ): Promise<RawResource[] | undefined> {
    const out: RawResource[] = [];
    let skipToken: string | undefined;
    try {
      do {
        o.abortSignal?.throwIfAborted();
        requests.count();
        const page = await query(
          {
            query: kql,
            subscriptions: [...subscriptions],
            top: RESOURCE_GRAPH_PAGE_SIZE,
            ...(skipToken ? { skipToken } : {}),
          },
          o,
        );
        out.push(...(page.data as RawResource[]));
        skipToken = page.skipToken || undefined;
      } while (skipToken);
      return out;
    } catch (e) {
      if (o.abortSignal?.aborted) throw e;
      failures.push(toFailure("subscription", subscriptions.join(","), e));
      return undefined;
    }
  }

  async function listServers(
    scope: InventoryScope,
    requests: Counter,
    failures: SweepFailure[],
    o: CollectInventoryOptions,
  ): Promise<{ servers: InventoryServer[]; completeSubscriptionIds: Set<string> }> {
    const subs = [...scope.subscriptionIds];
    const raw = subs.length ? await all(ResourceGraphQueries.servers, subs, requests, failures, o) : [];
    return {
      servers: (raw ?? []).map(toInventoryServer).filter((s): s is InventoryServer => !!s),
      // Resource Graph answers for all requested subscriptions at once, or fails as a whole.
      completeSubscriptionIds: new Set(raw ? subs : []),
    };
  }

  async function collectVaults(
    scope: InventoryScope,
    o: CollectInventoryOptions = {},
  ): Promise<VaultInventory> {
    const requests = counter();
    const failures: SweepFailure[] = [];
    const vaultSubs = [...new Set([...scope.vaultSubscriptionIds])];
    const instancesQuery = scope.datasourceSubscriptionId
      ? ResourceGraphQueries.instancesOf(scope.datasourceSubscriptionId)
      : ResourceGraphQueries.instances;
    const [rawVaults, rawInstances] = await Promise.all([
      vaultSubs.length ? all(ResourceGraphQueries.vaults, vaultSubs, requests, failures, o) : [],
      vaultSubs.length ? all(instancesQuery, vaultSubs, requests, failures, o) : [],
    ]);
    const vaults = new Map<string, InventoryVault>();
    for (const raw of rawVaults ?? []) {
      const v = toInventoryVault(raw);
      if (v) vaults.set(v.id, v);
    }
    addMappedVaults(vaults, scope);
    const instances = (rawInstances ?? [])
      .map(toInventoryInstance)
      .filter((i): i is InventoryInstance => !!i);

    const details = new Map<string, VaultDetails>();
    await mapLimit([...vaults.keys()], concurrency, async (vaultId) => {
      details.set(vaultId, await vaultDetails(readers, vaultId, requests.count, failures, o));
    });
    enrich(instances, details);
    return {
      vaults: [...vaults.values()],
      instances,
      failures,
      completeVaultIds: rawInstances ? [...vaults.keys()] : [],
      vaultDiscoveryComplete: rawVaults !== undefined,
      armRequests: requests.value,
    };
  }

  return composeInventory("resourceGraph", readers, listServers, collectVaults);
}
