import type { SweepFailure } from "../../domain/compliance.js";
import type { OperationOptions } from "../../util/options.js";

/**
 * Inventory of everything a compliance sweep classifies: servers with their tags, Backup vaults, backup
 * instances with protection state and policy, and each instance's last successful backup (vault job
 * history). Two sources behind one interface: Azure Resource Graph (./resourceGraph.ts, one paged query
 * covers every subscription) and per-subscription / per-vault ARM list calls (./armLists.ts). Either way
 * the number of ARM requests grows with subscriptions, vaults and pages, never with servers. A failing
 * subscription or vault becomes a {@link SweepFailure}; collection goes on. Items are normalised
 * (lower-cased ids, normalised regions) so classification never deals with ARM casing.
 */

export interface InventoryServer {
  /** Lower-cased ARM id. */
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  /** Normalised region, e.g. `westeurope`. */
  location: string;
  /** Tags exactly as ARM returned them (may be malformed: classification checks). */
  tags: unknown;
  /** `properties.state` (Ready, Stopped, ...) when known. */
  state?: string;
  /** `properties.replicationRole` (None, Primary, AsyncReplica, GeoAsyncReplica) when known. */
  replicationRole?: string;
  /** `properties.storage.storageSizeGB` when known. */
  storageSizeGB?: number;
}

export interface InventoryVault {
  id: string;
  name: string;
  subscriptionId: string;
  location: string;
  tags: Record<string, string>;
}

export interface InventoryInstance {
  /** Lower-cased ARM id of the backup instance. */
  id: string;
  name: string;
  /** Lower-cased id of the vault holding it. */
  vaultId: string;
  /** Lower-cased id of the protected server (`dataSourceInfo.resourceID`). */
  datasourceId: string;
  /** `properties.protectionStatus.status`, e.g. ProtectionConfigured, ConfiguringProtectionFailed. */
  protectionStatus?: string;
  /** `properties.currentProtectionState`, e.g. ProtectionConfigured, ProtectionError, BackupSchedulesSuspended. */
  currentProtectionState?: string;
  /** Error reported by the service for a failed protection (`protectionStatus.errorDetails`). */
  errorCode?: string;
  errorMessage?: string;
  /** Lower-cased policy id and its last segment. */
  policyId?: string;
  policyName?: string;
  /** ISO time of the last successful backup job, from the vault's job history. */
  lastSuccessfulBackupAt?: string;
  /** No success found and the vault's job history could not be read: staleness is unknown. */
  lastBackupUnknown?: boolean;
  /** Backup period of the policy (e.g. P1W ⇒ 7 days) when the inventory knows it. */
  policyPeriodInMs?: number;
}

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

export interface CollectInventoryOptions extends OperationOptions {
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
  /** The PG SDK flattens `properties.state` to `state` (and the Resource Graph query projects it so). */
  state?: string;
  /** Flattened by the PG SDK and projected by the Resource Graph query, like `state`. */
  replicationRole?: string;
  /** The PG SDK's flattened `properties.storage`. */
  storage?: { storageSizeGB?: number };
  /** `properties.storage.storageSizeGB` as the Resource Graph query projects it. */
  storageSizeGB?: number;
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

export type ListOptions = OperationOptions;

/** A page of a list call; each page is one ARM request. */
export type PageStream<T> = AsyncIterable<T[]>;

/** The ARM list calls the inventory needs, page by page. Real ones in ./armReaders.ts. */
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
  /** Jobs that started longer ago than this are not read (last successful backup within it). Default 35 days. */
  jobLookbackInMs?: number;
  now?: () => Date;
}
