import { TableClient } from "@azure/data-tables";
import { QueueClient, QueueServiceClient } from "@azure/storage-queue";
import type { TokenCredential } from "@azure/core-auth";
import type { Config } from "../config/index.js";
import { isRestError } from "../errors.js";

/**
 * The only place that turns configuration into Storage clients. Locally a connection string
 * (Azurite); in Azure the identity-based `AzureWebJobsStorage__*` settings: the service URLs infra/ sets
 * (the cloud's own storage suffix), else the account name in the public cloud.
 */
export interface StorageConnection {
  tableClient(tableName: string): TableClient;
  queueClient(queueName: string): QueueClient;
}

export interface StorageConnectionOptions {
  /** Needed only for identity-based connections. */
  credential?: TokenCredential;
}

export function createStorageConnection(
  config: Config,
  options: StorageConnectionOptions = {},
): StorageConnection {
  const connectionString = config.storageConnection;
  if (connectionString) {
    const allowInsecureConnection = /UseDevelopmentStorage=true|http:\/\/127\.|http:\/\/localhost/i.test(
      connectionString,
    );
    return {
      tableClient: (name) =>
        TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection }),
      queueClient: (name) => QueueServiceClient.fromConnectionString(connectionString).getQueueClient(name),
    };
  }
  const account = config.storageAccountName;
  const credential = options.credential;
  if (!account || !credential) {
    throw new Error(
      "Storage is not configured: set AzureWebJobsStorage or AzureWebJobsStorage__accountName.",
    );
  }
  const tableServiceUri = serviceUri(config.storageTableServiceUri, account, "table");
  const queueServiceUri = serviceUri(config.storageQueueServiceUri, account, "queue");
  return {
    tableClient: (name) => new TableClient(tableServiceUri, name, credential),
    queueClient: (name) => new QueueClient(`${queueServiceUri}/${name}`, credential),
  };
}

/** Storage suffix of the Azure public cloud, used only when no service URL is configured (as the Functions host does). */
const PUBLIC_CLOUD_STORAGE_SUFFIX = "core.windows.net";

/** The configured `AzureWebJobsStorage__<service>ServiceUri` without a trailing slash, else the public-cloud URL. */
function serviceUri(configured: string | undefined, account: string, service: "table" | "queue"): string {
  return (configured ?? `https://${account}.${service}.${PUBLIC_CLOUD_STORAGE_SUFFIX}`).replace(/\/+$/, "");
}

/** Creates the table if missing; 409 TableAlreadyExists is success. */
export async function ensureTable(client: TableClient): Promise<void> {
  try {
    await client.createTable();
  } catch (e) {
    if (isRestError(e) && e.statusCode === 409) return;
    throw e;
  }
}

/**
 * Returns a function that creates the tables on first call and remembers success; a failure is forgotten,
 * so the next call tries again (Storage may have been briefly unreachable).
 */
export function ensureTablesOnce(...clients: TableClient[]): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () =>
    (ready ??= Promise.all(clients.map(ensureTable))
      .then(() => undefined)
      .catch((e: unknown) => {
        ready = undefined;
        throw e;
      }));
}
