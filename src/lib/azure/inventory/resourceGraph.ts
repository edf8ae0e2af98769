import type { SweepFailure } from "../../domain/compliance.js";
import {
  addMappedVaults,
  composeInventory,
  counter,
  enrich,
  vaultDetails,
  type Counter,
  type VaultDetails,
} from "./compose.js";
import { mapWithConcurrency } from "../../util/concurrency.js";
import { queryJobsByVault } from "./jobs.js";
import { toFailure, toInventoryInstance, toInventoryServer, toInventoryVault } from "./normalize.js";
import type {
  ArmListReaders,
  CollectInventoryOptions,
  InventoryInstance,
  InventoryOptions,
  InventoryScope,
  InventoryServer,
  InventorySource,
  InventoryVault,
  RawJob,
  RawResource,
  ResourceGraphQuery,
  VaultInventory,
} from "./types.js";

/** The inventory from Azure Resource Graph queries (one paged query covers every subscription). */

/** Resource Graph type of Data Protection backup instances. */
const BACKUP_INSTANCE_TYPE = "microsoft.dataprotection/backupvaults/backupinstances";

/**
 * KQL sent to Resource Graph; the emulator's provider supports exactly this subset. Servers and Backup vaults are
 * tracked resources, rows of `resources`; Azure Backup publishes backup instances in `RecoveryServicesResources`
 * only (as Az PowerShell's `Search-AzDataProtectionBackupInstanceInAzGraph` and az CLI's `dataprotection
 * backup-instance list-from-resourcegraph` read them), each row's `properties` as `GET …/backupInstances/{name}`
 * answers them (`dataSourceInfo`, `policyInfo`, `protectionStatus`, `currentProtectionState`).
 */
export const ResourceGraphQueries = {
  // Only the server properties the sweep reads (state, and what Azure Backup supports): a page of 1,000 full
  // server bodies is ten times larger.
  servers:
    "resources | where type =~ 'microsoft.dbforpostgresql/flexibleservers' | project id, name, type, location, subscriptionId, resourceGroup, tags, state = properties.state, replicationRole = properties.replicationRole, storageSizeGB = properties.storage.storageSizeGB",
  vaults:
    "resources | where type =~ 'microsoft.dataprotection/backupvaults' | project id, name, type, location, subscriptionId, resourceGroup, tags",
  instances: `RecoveryServicesResources | where type =~ '${BACKUP_INSTANCE_TYPE}' | project id, name, type, subscriptionId, properties`,
  /** Instances protecting servers of one subscription (a fanned-out unit). */
  instancesOf: (subscriptionId: string): string =>
    `RecoveryServicesResources | where type =~ '${BACKUP_INSTANCE_TYPE}' and properties.dataSourceInfo.resourceID startswith '/subscriptions/${subscriptionId.replace(/[^0-9a-f-]/gi, "")}/' | project id, name, type, subscriptionId, properties`,
};

/** Rows per Resource Graph page (the service's maximum). */
export const RESOURCE_GRAPH_PAGE_SIZE = 1000;

export function createResourceGraphInventory(
  query: ResourceGraphQuery,
  readers: Pick<ArmListReaders, "listSubscriptions" | "listJobs" | "listPolicies" | "getServer">,
  options: InventoryOptions = {},
): InventorySource {
  const concurrency = options.concurrency ?? 16;
  const jobLookbackInMs = options.jobLookbackInMs ?? 35 * 86_400_000;
  const now = options.now ?? (() => new Date());

  /**
   * Every page of one query, each row mapped as its page arrives (so a page's raw rows are dropped before the
   * next: at 100,000 servers the raw rows would double the inventory's memory); rows mapped to undefined are
   * left out. Undefined (failure listed) when any page fails.
   */
  async function all<T>(
    kql: string,
    subscriptions: readonly string[],
    requests: Counter,
    failures: SweepFailure[],
    o: CollectInventoryOptions,
    map: (raw: RawResource) => T | undefined,
  ): Promise<T[] | undefined> {
    const out: T[] = [];
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
        for (const raw of page.data as RawResource[]) {
          const item = map(raw);
          if (item !== undefined) out.push(item);
        }
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
    const servers = subs.length
      ? await all(ResourceGraphQueries.servers, subs, requests, failures, o, toInventoryServer)
      : [];
    return {
      servers: servers ?? [],
      // Resource Graph answers for all requested subscriptions at once, or fails as a whole.
      completeSubscriptionIds: new Set(servers ? subs : []),
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
      vaultSubs.length
        ? all(ResourceGraphQueries.vaults, vaultSubs, requests, failures, o, toInventoryVault)
        : [],
      vaultSubs.length ? all(instancesQuery, vaultSubs, requests, failures, o, toInventoryInstance) : [],
    ]);
    const vaults = new Map<string, InventoryVault>();
    for (const v of rawVaults ?? []) vaults.set(v.id, v);
    addMappedVaults(vaults, scope);
    const instances: InventoryInstance[] = rawInstances ?? [];

    // Every vault's recent jobs in one paged query (the job list itself takes no time filter).
    const since = new Date(now().getTime() - jobLookbackInMs);
    const jobSubs = [...new Set([...vaultSubs, ...[...vaults.values()].map((v) => v.subscriptionId)])];
    let jobsByVault: Map<string, RawJob[]> | undefined;
    try {
      jobsByVault = jobSubs.length
        ? await queryJobsByVault(query, jobSubs, since, { ...o, onPage: requests.count })
        : new Map();
    } catch (e) {
      if (o.abortSignal?.aborted) throw e;
      failures.push(toFailure("jobs", jobSubs.join(","), e));
    }
    const details = new Map<string, VaultDetails>();
    await mapWithConcurrency([...vaults.keys()], concurrency, async (vaultId) => {
      const known = { jobs: jobsByVault ? (jobsByVault.get(vaultId) ?? []) : undefined };
      details.set(vaultId, await vaultDetails(readers, vaultId, requests.count, failures, o, known));
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
