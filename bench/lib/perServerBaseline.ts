import type { ArmClients } from "../../src/lib/azure/clients.js";
import { parseServerId } from "../../src/lib/domain/serverId.js";
import { mapWithConcurrency } from "../../src/lib/util/concurrency.js";
import { getOrUndefined } from "../../src/lib/util/notFound.js";
import type { OperationOptions } from "../../src/lib/util/options.js";

/**
 * The naive way to answer "is everything backed up?", kept so the benchmark can measure what the sweep
 * saves: for every known server, GET the server, then GET its backup instance in the region's vault.
 * Two ARM calls per server, so its cost grows with servers, where the sweep's grows with pages.
 */
export interface PerServerBaselineDeps {
  /** The servers to check (e.g. the servers table, or the estate the benchmark built). */
  serverIds: readonly string[];
  /** GET of the server; undefined when it is gone (404). */
  getServer(
    serverId: string,
    options?: OperationOptions,
  ): Promise<{ location?: string; tags?: unknown } | undefined>;
  /** GET of the server's backup instance in the vault serving `location`; undefined when there is none (404). */
  getBackupInstance(
    serverId: string,
    location: string,
    options?: OperationOptions,
  ): Promise<{ properties?: Record<string, unknown> } | undefined>;
}

export interface PerServerBaselineOptions extends OperationOptions {
  /** Parallel servers; default 1 (the script people write first). */
  concurrency?: number;
}

export interface PerServerBaselineResult {
  servers: number;
  missing: number;
  withInstance: number;
  withoutInstance: number;
  armRequests: number;
  durationInMs: number;
}

export async function runPerServerBaseline(
  deps: PerServerBaselineDeps,
  options: PerServerBaselineOptions = {},
): Promise<PerServerBaselineResult> {
  const started = Date.now();
  const result: PerServerBaselineResult = {
    servers: 0,
    missing: 0,
    withInstance: 0,
    withoutInstance: 0,
    armRequests: 0,
    durationInMs: 0,
  };
  await mapWithConcurrency(deps.serverIds, options.concurrency ?? 1, async (id) => {
    options.abortSignal?.throwIfAborted();
    result.servers++;
    result.armRequests++;
    const server = await deps.getServer(id, { abortSignal: options.abortSignal });
    if (!server) {
      result.missing++;
      return;
    }
    result.armRequests++;
    const instance = await deps.getBackupInstance(id, server.location ?? "", {
      abortSignal: options.abortSignal,
    });
    if (instance) result.withInstance++;
    else result.withoutInstance++;
  });
  result.durationInMs = Date.now() - started;
  return result;
}

/** Baseline deps over the shared ARM clients: `servers.get`, then `backupInstances.get` by the instance's name. */
export function createArmPerServerBaselineDeps(
  clients: ArmClients,
  serverIds: readonly string[],
  options: {
    /** Region → vault id (lower-case region). */
    vaultForRegion: (location: string) => string | undefined;
    /** Backup instance name for a server (the protection worker's deterministic name). */
    instanceName: (serverId: string) => string;
  },
): PerServerBaselineDeps {
  return {
    serverIds,
    async getServer(serverId, o = {}) {
      const server = parseServerId(serverId);
      if (!server) return undefined;
      const pg = await clients.postgres(server.subscriptionId);
      return getOrUndefined(() =>
        pg.servers.get(server.resourceGroup, server.serverName, { abortSignal: o.abortSignal }),
      );
    },
    async getBackupInstance(serverId, location, o = {}) {
      const vault = options.vaultForRegion(location.replace(/\s+/g, "").toLowerCase());
      const m =
        vault &&
        /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.dataprotection\/backupvaults\/([^/]+)$/i.exec(
          vault,
        );
      if (!m) return undefined;
      const dp = await clients.dataProtection(m[1] as string);
      return getOrUndefined(
        async () =>
          (await dp.backupInstances.get(m[2] as string, m[3] as string, options.instanceName(serverId), {
            abortSignal: o.abortSignal,
          })) as { properties?: Record<string, unknown> },
      );
    },
  };
}
