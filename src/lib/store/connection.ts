import { TableClient } from "@azure/data-tables";
import { QueueClient, QueueServiceClient } from "@azure/storage-queue";
import type { TokenCredential } from "@azure/core-auth";
import type { Config } from "../config/index.js";
import { isRestError } from "../errors.js";

/**
 * The only place that turns configuration into Storage clients. Locally a connection string
 * (Azurite); in Azure the identity-based `AzureWebJobsStorage__*` settings.
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
  return {
    tableClient: (name) => new TableClient(`https://${account}.table.core.windows.net`, name, credential),
    queueClient: (name) => new QueueClient(`https://${account}.queue.core.windows.net/${name}`, credential),
  };
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
