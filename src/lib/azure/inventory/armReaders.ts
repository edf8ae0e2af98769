import type { ArmClients } from "../clients.js";
import { parseVaultId } from "../ids.js";
import type {
  ArmListReaders,
  InventoryOptions,
  InventorySource,
  ListOptions,
  PageStream,
  RawJob,
  RawResource,
  ResourceGraphQuery,
} from "./types.js";
import { createArmInventory } from "./armLists.js";
import { cutOffAndDeduplicate } from "./jobs.js";
import { createResourceGraphInventory } from "./resourceGraph.js";
import { parseServerId } from "../../domain/serverId.js";
import { getOrUndefined } from "../../util/notFound.js";

/** api-version of `GET /subscriptions` (Microsoft.Resources). */
export const SUBSCRIPTIONS_API_VERSION = "2022-12-01";

export interface ArmReadersOptions {
  /** Jobs that started longer ago than this are left out (last successful backup within it). Default 35 days. */
  jobLookbackInMs?: number;
  now?: () => Date;
}

export async function* pages<T>(iter: { byPage(): AsyncIterableIterator<T[]> }): AsyncIterable<T[]> {
  for await (const page of iter.byPage()) yield page;
}

/** The ARM list calls over the shared clients (pacing, endpoint, credential), page by page. */
export function createArmListReaders(clients: ArmClients, options: ArmReadersOptions = {}): ArmListReaders {
  const lookbackInMs = options.jobLookbackInMs ?? 35 * 86_400_000;
  const now = options.now ?? (() => new Date());
  return {
    async *listSubscriptions(o: ListOptions = {}): PageStream<{ subscriptionId?: string; state?: string }> {
      const dp = await clients.dataProtection();
      let link: string | undefined;
      do {
        const page = await dp.rest.getPage<{ subscriptionId?: string; state?: string }>(
          "/subscriptions",
          link,
          {
            abortSignal: o.abortSignal,
            query: { "api-version": SUBSCRIPTIONS_API_VERSION },
          },
        );
        yield page.items;
        link = page.nextLink;
      } while (link);
    },
    async *listServers(subscriptionId, o = {}): PageStream<RawResource> {
      const pg = await clients.postgres(subscriptionId);
      for await (const page of pg.servers.listBySubscription({ abortSignal: o.abortSignal }).byPage()) {
        yield page as RawResource[];
      }
    },
    async getServer(serverId, o = {}) {
      const server = parseServerId(serverId);
      if (!server) throw new TypeError(`"${serverId}" is not a PostgreSQL Flexible Server id.`);
      const pg = await clients.postgres(server.subscriptionId);
      return getOrUndefined(
        async () =>
          (await pg.servers.get(server.resourceGroup, server.serverName, {
            abortSignal: o.abortSignal,
          })) as RawResource,
      );
    },
    async *listVaults(subscriptionId, o = {}): PageStream<RawResource> {
      const dp = await clients.dataProtection(subscriptionId);
      yield* pages(
        dp.backupVaults.listInSubscription({ abortSignal: o.abortSignal }),
      ) as PageStream<RawResource>;
    },
    async *listBackupInstances(vaultId, o = {}): PageStream<RawResource> {
      const v = parseVaultId(vaultId);
      const dp = await clients.dataProtection(v.subscriptionId);
      yield* pages(
        dp.backupInstances.list(v.resourceGroupName, v.vaultName, { abortSignal: o.abortSignal }),
      ) as PageStream<RawResource>;
    },
    async *listJobs(vaultId, o = {}): PageStream<RawJob> {
      const v = parseVaultId(vaultId);
      const dp = await clients.dataProtection(v.subscriptionId);
      // The list takes no filter and its order is not specified: every page is read once (one chain of
      // nextLinks), jobs older than the lookback dropped, each job given once.
      const since = new Date(now().getTime() - lookbackInMs);
      yield* cutOffAndDeduplicate(
        pages(
          dp.jobs.list(v.resourceGroupName, v.vaultName, { abortSignal: o.abortSignal }),
        ) as PageStream<RawJob>,
        since,
      );
    },
    async *listPolicies(vaultId, o = {}): PageStream<RawResource> {
      const v = parseVaultId(vaultId);
      const dp = await clients.dataProtection(v.subscriptionId);
      yield* pages(
        dp.backupPolicies.list(v.resourceGroupName, v.vaultName, { abortSignal: o.abortSignal }),
      ) as PageStream<RawResource>;
    },
  };
}

/** One Resource Graph `resources` call through `@azure/arm-resourcegraph` (objectArray rows). */
/** Connection failures after which a read-only query is simply sent again. */
const CONNECTION_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED"]);

function isConnectionFailure(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | undefined;
  return (
    (typeof err?.code === "string" && CONNECTION_CODES.has(err.code)) ||
    (typeof err?.message === "string" && /socket hang up|ECONNRESET/i.test(err.message))
  );
}

/**
 * Resource Graph queries are POSTs that only read, so a connection closed under them (a keep-alive connection
 * the far end dropped as the request went out: "socket hang up") is sent again, up to 3 times, 0.5, 1 then 2 s
 * apart. The pacer retries only POSTs that never left the machine, since a POST may write.
 */
const QUERY_ATTEMPTS = 4;

export function createResourceGraphQuery(
  clients: Pick<ArmClients, "resourceGraph">,
  options: { retryDelayInMs?: number } = {},
): ResourceGraphQuery {
  const delay = options.retryDelayInMs ?? 500;
  return async (request, o = {}) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await queryOnce(request, o);
      } catch (e) {
        if (attempt >= QUERY_ATTEMPTS || o.abortSignal?.aborted || !isConnectionFailure(e)) throw e;
        await new Promise((resolve) => setTimeout(resolve, delay * 2 ** (attempt - 1)));
      }
    }
  };

  async function queryOnce(
    request: Parameters<ResourceGraphQuery>[0],
    o: NonNullable<Parameters<ResourceGraphQuery>[1]>,
  ): ReturnType<ResourceGraphQuery> {
    const rg = await clients.resourceGraph();
    const response = await rg.resources(
      {
        query: request.query,
        ...(request.subscriptions?.length ? { subscriptions: request.subscriptions } : {}),
        options: {
          resultFormat: "objectArray",
          ...(request.top ? { top: request.top } : {}),
          ...(request.skipToken ? { skipToken: request.skipToken } : {}),
        },
      },
      o.abortSignal ? { abortSignal: o.abortSignal as never } : undefined,
    );
    return {
      data: Array.isArray(response.data) ? (response.data as unknown[]) : [],
      ...(response.skipToken ? { skipToken: response.skipToken } : {}),
    };
  }
}

/** The configured inventory: Resource Graph when PGFLEX_USE_RESOURCE_GRAPH is true, ARM lists otherwise. */
export function createInventorySource(
  clients: ArmClients,
  useResourceGraph: boolean,
  options: InventoryOptions & ArmReadersOptions = {},
): InventorySource {
  const readers = createArmListReaders(clients, options);
  return useResourceGraph
    ? createResourceGraphInventory(createResourceGraphQuery(clients), readers, options)
    : createArmInventory(readers, options);
}
