import type { SweepFailure } from "../../domain/compliance.js";
import { lower, policyPeriodInMs, toFailure, toInventoryVault } from "./normalize.js";
import type {
  ArmListReaders,
  CollectInventoryOptions,
  InventoryInstance,
  InventoryScope,
  InventoryServer,
  InventorySnapshot,
  InventorySource,
  InventoryVault,
  ListOptions,
  RawJob,
  VaultInventory,
} from "./types.js";

/** The parts both inventory sources share: per-vault details, counting, and composing a snapshot. */

function isSuccessfulBackup(job: RawJob): boolean {
  const p = job.properties ?? {};
  const op = lower(p.operationCategory ?? p.operation);
  return lower(p.status) === "completed" && op.includes("backup");
}

export interface VaultDetails {
  lastBackup: Map<string, string>;
  periods: Map<string, number>;
  /** The job history could not be read (completely). */
  jobsUnknown: boolean;
}

/**
 * A vault's job history read elsewhere (one Resource Graph query for every vault): its jobs, or `undefined`
 * when that read failed (its failure is already listed).
 */
export type KnownJobs = { jobs: readonly RawJob[] | undefined };

export async function vaultDetails(
  readers: Pick<ArmListReaders, "listJobs" | "listPolicies">,
  vaultId: string,
  count: () => void,
  failures: SweepFailure[],
  options: CollectInventoryOptions,
  known?: KnownJobs,
): Promise<VaultDetails> {
  const lastBackup = new Map<string, string>();
  const periods = new Map<string, number>();
  let jobsUnknown = known !== undefined && known.jobs === undefined;
  const pagesOf = async function* (): AsyncIterable<readonly RawJob[]> {
    if (!known) {
      for await (const page of readers.listJobs(vaultId, options)) {
        count();
        yield page;
      }
    } else if (known.jobs) yield known.jobs;
  };
  try {
    for await (const page of pagesOf()) {
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

export function enrich(instances: InventoryInstance[], details: Map<string, VaultDetails>): void {
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

export function addMappedVaults(vaults: Map<string, InventoryVault>, scope: InventoryScope): void {
  for (const id of scope.vaultIds ?? []) {
    if (!vaults.has(id)) {
      const v = toInventoryVault({ id });
      if (v) vaults.set(id, v);
    }
  }
}

export interface Counter {
  count(): void;
  readonly value: number;
}

export function counter(): Counter {
  let n = 0;
  return {
    count: () => void n++,
    get value() {
      return n;
    },
  };
}

export type ServerLister = (
  scope: InventoryScope,
  requests: Counter,
  failures: SweepFailure[],
  options: CollectInventoryOptions,
) => Promise<{ servers: InventoryServer[]; completeSubscriptionIds: Set<string> }>;

/** The parts both inventory sources share: a unit's snapshot is its servers plus the vault-wide reads. */
export function composeInventory(
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
