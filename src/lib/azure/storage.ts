/**
 * Restore targets in Azure Storage: parsing container and account ids, reading an account's settings
 * (ARM, through `@azure/arm-storage` on the shared pacer) and listing a container's blobs (the Blob
 * service, through `@azure/storage-blob`). The restore capability sees only {@link StorageOperations}.
 */
import type { ArmClients } from "./clients.js";
import type { ArchiveSource } from "../archive/source.js";
import { getOrUndefined } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";

/** What a restore target id names: a storage account, or a blob container in one. */
export interface StorageTargetId {
  kind: "account" | "container";
  subscriptionId: string;
  resourceGroupName: string;
  accountName: string;
  /** The account's ARM id, canonical casing. */
  accountId: string;
  /** Set for a container. */
  containerName?: string;
  /** The container's ARM id (`…/blobServices/default/containers/{name}`), canonical casing; set for a container. */
  containerId?: string;
}

const accountPattern =
  /^\/subscriptions\/([0-9a-f-]{36})\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Storage\/storageAccounts\/([a-z0-9]{3,24})(?:\/blobServices\/default\/containers\/([a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]))?\/?$/i;

/** Parses a storage account or blob container ARM id; undefined when it is neither. */
export function parseStorageTargetId(id: string): StorageTargetId | undefined {
  const m = accountPattern.exec(id.trim());
  if (!m) return undefined;
  const [, sub = "", rg = "", account = "", container] = m;
  const accountId = `/subscriptions/${sub.toLowerCase()}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/${account.toLowerCase()}`;
  if (container === undefined) {
    return {
      kind: "account",
      subscriptionId: sub.toLowerCase(),
      resourceGroupName: rg,
      accountName: account.toLowerCase(),
      accountId,
    };
  }
  const containerName = container.toLowerCase();
  return {
    kind: "container",
    subscriptionId: sub.toLowerCase(),
    resourceGroupName: rg,
    accountName: account.toLowerCase(),
    accountId,
    containerName,
    containerId: `${accountId}/blobServices/default/containers/${containerName}`,
  };
}

/** The account settings a restore as files depends on. */
export interface StorageAccountInfo {
  id: string;
  name: string;
  location?: string;
  allowCrossTenantReplication?: boolean;
  /** "Enabled", "Disabled" or "SecuredByPerimeter"; absent reads as Enabled. */
  publicNetworkAccess?: string;
  /** `primaryEndpoints.blob`, ending in `/`. */
  blobEndpoint?: string;
}

export interface BlobInfo {
  name: string;
  sizeInBytes: number;
  createdOn?: string;
}

export interface StorageOperations {
  /** The account, or undefined when ARM answers 404. */
  getAccount(accountId: string, options?: OperationOptions): Promise<StorageAccountInfo | undefined>;
  /** Every blob in the container at `containerUrl` (the account's blob endpoint + container name). */
  listBlobs(containerUrl: string, options?: OperationOptions): AsyncIterable<BlobInfo>;
}

/** Reading and deleting a restore's blobs (restore tests inspect them, then delete them). */
export interface BlobOperations {
  /**
   * The blob as an archive source: its size, ranged reads and a stream from an offset (each a ranged
   * download, so a `header` inspection reads only the prefix it needs). Undefined when the blob is absent.
   */
  openBlob(
    containerUrl: string,
    blobName: string,
    options?: OperationOptions,
  ): Promise<ArchiveSource | undefined>;
  /** Deletes the blob; succeeds when it is already gone. */
  deleteBlob(containerUrl: string, blobName: string, options?: OperationOptions): Promise<void>;
}

const STREAM_RANGE_BYTES = 4 * 1024 * 1024;

export function createStorageOperations(
  clients: Pick<ArmClients, "storage" | "blobContainer">,
): StorageOperations & BlobOperations {
  return {
    async getAccount(accountId, options = {}) {
      const t = parseStorageTargetId(accountId);
      if (!t) throw new TypeError(`"${accountId}" is not a storage account id.`);
      const client = await clients.storage(t.subscriptionId);
      const account = await getOrUndefined(() =>
        client.storageAccounts.getProperties(t.resourceGroupName, t.accountName, {
          abortSignal: options.abortSignal,
        }),
      );
      if (!account) return undefined;
      const blob = account.primaryEndpoints?.blob;
      return {
        id: account.id ?? t.accountId,
        name: account.name ?? t.accountName,
        ...(account.location ? { location: account.location } : {}),
        ...(account.allowCrossTenantReplication !== undefined
          ? { allowCrossTenantReplication: account.allowCrossTenantReplication }
          : {}),
        ...(account.publicNetworkAccess ? { publicNetworkAccess: account.publicNetworkAccess } : {}),
        ...(blob ? { blobEndpoint: blob.endsWith("/") ? blob : `${blob}/` } : {}),
      };
    },
    async *listBlobs(containerUrl, options = {}) {
      const container = await clients.blobContainer(containerUrl);
      for await (const b of container.listBlobsFlat({ abortSignal: options.abortSignal })) {
        yield {
          name: b.name,
          sizeInBytes: b.properties.contentLength ?? 0,
          ...(b.properties.createdOn ? { createdOn: b.properties.createdOn.toISOString() } : {}),
        };
      }
    },
    async openBlob(containerUrl, blobName, options = {}) {
      const blob = (await clients.blobContainer(containerUrl)).getBlobClient(blobName);
      const properties = await getOrUndefined(() => blob.getProperties({ abortSignal: options.abortSignal }));
      if (!properties) return undefined;
      const size = properties.contentLength ?? 0;
      const read = async (offset: number, length: number): Promise<Buffer> => {
        if (offset >= size || length <= 0) return Buffer.alloc(0);
        const count = Math.min(length, size - offset);
        return blob.downloadToBuffer(offset, count, { abortSignal: options.abortSignal });
      };
      return {
        size,
        read,
        // Ranged downloads one after another: memory stays one range whatever the blob's size.
        async *stream(offset) {
          for (let at = offset; at < size;) {
            const chunk = await read(at, STREAM_RANGE_BYTES);
            if (chunk.length === 0) return;
            at += chunk.length;
            yield chunk;
          }
        },
      };
    },
    async deleteBlob(containerUrl, blobName, options = {}) {
      const blob = (await clients.blobContainer(containerUrl)).getBlobClient(blobName);
      await blob.deleteIfExists({ deleteSnapshots: "include", abortSignal: options.abortSignal });
    },
  };
}
