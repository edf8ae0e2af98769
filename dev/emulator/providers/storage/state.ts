import type { ProviderContext } from "../../core/provider.js";
import { lower, normalizeScope } from "../../core/ids.js";

/**
 * The Microsoft.Storage provider's state slice (`providers.storage` in seeds): storage accounts and their
 * blob containers, keyed by lower-cased resource id. Other providers (Data Protection restores) read it
 * through the helpers below.
 */

export const STORAGE_PROVIDER = "storage";

export interface StorageAccountRecord {
  id: string;
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  kind: string;
  sku: string;
  /** Newer accounts default to false; a restore as files needs true. */
  allowCrossTenantReplication: boolean;
  publicNetworkAccess: "Enabled" | "Disabled" | "SecuredByPerimeter";
  allowBlobPublicAccess: boolean;
  allowSharedKeyAccess: boolean;
  minimumTlsVersion: string;
  createdAt: string;
}

export interface ContainerRecord {
  id: string;
  accountKey: string;
  name: string;
  publicAccess: "None" | "Blob" | "Container";
  metadata: Record<string, string>;
  createdAt: string;
}

export interface StorageSlice {
  accounts: Record<string, StorageAccountRecord>;
  containers: Record<string, ContainerRecord>;
}

/** What `startEmulator({ blobConnectionString })` passes on: where the accounts' blobs really live. */
export interface StorageProviderOptions {
  /** Connection string of the local Azurite (its blob endpoint); absent: accounts get Azure-style endpoints and no blobs are written. */
  blobConnectionString?: string;
}

export const emptyStorageSlice = (): StorageSlice => ({ accounts: {}, containers: {} });

export function storageSliceOf(context: ProviderContext): StorageSlice {
  const slice = context.state.slice<StorageSlice>(STORAGE_PROVIDER, emptyStorageSlice);
  slice.accounts ??= {};
  slice.containers ??= {};
  return slice;
}

export function storageOptionsOf(context: ProviderContext): StorageProviderOptions {
  return (context.options.providerOptions[STORAGE_PROVIDER] ?? {}) as StorageProviderOptions;
}

/** Azurite's blob endpoint (`http://127.0.0.1:<port>/devstoreaccount1`) from its connection string. */
export function blobEndpointOf(connectionString: string): string | undefined {
  return /(?:^|;)BlobEndpoint=([^;]+)/i.exec(connectionString)?.[1]?.replace(/\/+$/u, "");
}

/**
 * `primaryEndpoints.blob` of an account, ending in `/`: the local Azurite's (every emulated account shares
 * its development account, so container names are shared too) or, without Azurite, Azure's.
 */
export function blobEndpointFor(context: ProviderContext, account: StorageAccountRecord): string {
  const connection = storageOptionsOf(context).blobConnectionString;
  const local = connection ? blobEndpointOf(connection) : undefined;
  return `${local ?? `https://${account.name}.blob.core.windows.net`}/`;
}

export const accountIdOf = (subscriptionId: string, resourceGroupName: string, name: string): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Storage/storageAccounts/${name}`;

export const containerIdOf = (accountId: string, name: string): string =>
  `${accountId}/blobServices/default/containers/${name}`;

const ACCOUNT_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[^/]+$/i;
const CONTAINER_ID =
  /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[^/]+)\/blobServices\/default\/containers\/([^/]+)$/i;

/** What an ARM id names: a storage account, a blob container, or something else. */
export function classifyStorageId(
  id: string,
):
  | { kind: "account"; accountId: string }
  | { kind: "container"; accountId: string; container: string }
  | undefined {
  const scope = normalizeScope(id);
  if (ACCOUNT_ID.test(scope)) return { kind: "account", accountId: scope };
  const m = CONTAINER_ID.exec(scope);
  return m?.[1] && m[2] ? { kind: "container", accountId: m[1], container: m[2] } : undefined;
}

export function findAccount(context: ProviderContext, accountId: string): StorageAccountRecord | undefined {
  return storageSliceOf(context).accounts[lower(normalizeScope(accountId))];
}

export function findContainer(context: ProviderContext, containerId: string): ContainerRecord | undefined {
  return storageSliceOf(context).containers[lower(normalizeScope(containerId))];
}

/**
 * The containers whose URL (`primaryEndpoints.blob` + name) is `url`, case-insensitive, trailing slash
 * ignored. Several when emulated accounts share Azurite and a container name.
 */
export function containersAtUrl(
  context: ProviderContext,
  url: string,
): Array<{ account: StorageAccountRecord; container: ContainerRecord }> {
  const wanted = lower(url.replace(/\/+$/u, ""));
  const slice = storageSliceOf(context);
  const found: Array<{ account: StorageAccountRecord; container: ContainerRecord }> = [];
  for (const container of Object.values(slice.containers)) {
    const account = slice.accounts[container.accountKey];
    if (account && lower(`${blobEndpointFor(context, account)}${container.name}`) === wanted)
      found.push({ account, container });
  }
  return found;
}
