import type { TableClient, TransactionAction } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { decodeKey, encodeKey } from "./keys.js";
import { ConflictError, isRestError } from "../errors.js";
import { isNotFound } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";
import { replaceEntity, type Entity } from "./entities.js";
import type { JobOrigin } from "./jobs.js";

/** Non-terminal jobs the poller follows (PK encoded vault id, RK job id). Small: rows leave when jobs end. */
export const ACTIVE_JOBS_TABLE = "activeJobs";

export interface ActiveJobRecord {
  vaultId: string;
  jobId: string;
  serverId: string;
  /** Start time as recorded in the jobs row (fixes that row's key). */
  startTime: string;
  status: string;
  origin: JobOrigin;
  etag?: string;
}

export type ActiveJobStoreOptions = OperationOptions;

export interface ActiveJobStore {
  /** Every followed job, grouped by nothing; one query over a small table. */
  list(options?: ActiveJobStoreOptions): AsyncIterableIterator<ActiveJobRecord>;
  listForServer(
    serverId: string,
    options?: ActiveJobStoreOptions & { vaultId?: string },
  ): Promise<ActiveJobRecord[]>;
  /** Create-or-replace rows, one transaction per vault (≤ 100 per batch). */
  upsertAll(records: readonly ActiveJobRecord[], options?: ActiveJobStoreOptions): Promise<void>;
  /** Removes rows; a row already gone is fine (another poller finished it). */
  deleteAll(
    records: ReadonlyArray<Pick<ActiveJobRecord, "vaultId" | "jobId">>,
    options?: ActiveJobStoreOptions,
  ): Promise<void>;
  /**
   * Claims the right to start a backup of `serverId` (one row per server in the vault's partition), so two
   * concurrent requests cannot both start one. False when a live claim exists; a claim older than
   * `staleAfterInMs` (a crashed starter) is taken over.
   */
  claimServer(
    vaultId: string,
    serverId: string,
    now: Date,
    options?: ActiveJobStoreOptions & { staleAfterInMs?: number },
  ): Promise<boolean>;
  releaseServer(vaultId: string, serverId: string, options?: ActiveJobStoreOptions): Promise<void>;
}

/** How long a start claim stands before it is taken as a crashed starter's, unless the caller says otherwise. */
export const DEFAULT_CLAIM_STALE_AFTER_IN_MS = 10 * 60_000;

/** Claim rows share the vault partition; job rows use the job GUID as RowKey, so the prefix cannot clash. */
const CLAIM_PREFIX = "claim-";
const isClaim = (rowKey: unknown): boolean => String(rowKey).startsWith(CLAIM_PREFIX);

function toActiveJobEntity(r: ActiveJobRecord): Entity {
  return {
    partitionKey: encodeKey(r.vaultId),
    rowKey: r.jobId.toLowerCase(),
    serverId: r.serverId.toLowerCase(),
    startTime: r.startTime,
    status: r.status,
    origin: r.origin,
  };
}

function fromActiveJobEntity(
  e: Record<string, unknown> & { partitionKey?: string; rowKey?: string; etag?: string },
): ActiveJobRecord {
  return {
    vaultId: decodeKey(String(e.partitionKey)),
    jobId: String(e.rowKey),
    serverId: String(e.serverId),
    startTime: String(e.startTime),
    status: String(e.status),
    origin: e.origin as JobOrigin,
    ...(e.etag ? { etag: e.etag } : {}),
  };
}

function groupByVault<T extends Pick<ActiveJobRecord, "vaultId">>(records: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of records) {
    const pk = encodeKey(r.vaultId);
    out.set(pk, [...(out.get(pk) ?? []), r]);
  }
  return out;
}

export function createActiveJobStore(
  connection: StorageConnection,
  deps: { tableClient?: TableClient } = {},
): ActiveJobStore {
  const client = deps.tableClient ?? connection.tableClient(ACTIVE_JOBS_TABLE);
  const ensure = ensureTablesOnce(client);
  return {
    async *list(options = {}) {
      await ensure();
      for await (const e of client.listEntities<Record<string, unknown>>({
        abortSignal: options.abortSignal,
      })) {
        if (!isClaim(e.rowKey)) yield fromActiveJobEntity(e);
      }
    },
    async listForServer(serverId, options = {}) {
      await ensure();
      const filter = options.vaultId
        ? odata`PartitionKey eq ${encodeKey(options.vaultId)} and serverId eq ${serverId.toLowerCase()}`
        : odata`serverId eq ${serverId.toLowerCase()}`;
      const out: ActiveJobRecord[] = [];
      for await (const e of client.listEntities<Record<string, unknown>>({
        queryOptions: { filter },
        abortSignal: options.abortSignal,
      })) {
        if (!isClaim(e.rowKey)) out.push(fromActiveJobEntity(e));
      }
      return out;
    },
    async upsertAll(records, options = {}) {
      await ensure();
      for (const rows of groupByVault(records).values()) {
        for (let i = 0; i < rows.length; i += 100) {
          await client.submitTransaction(
            rows.slice(i, i + 100).map((r): TransactionAction => ["upsert", toActiveJobEntity(r), "Replace"]),
            { abortSignal: options.abortSignal },
          );
        }
      }
    },
    async deleteAll(records, options = {}) {
      await ensure();
      for (const [pk, rows] of groupByVault(records)) {
        for (let i = 0; i < rows.length; i += 100) {
          const chunk = rows.slice(i, i + 100);
          try {
            await client.submitTransaction(
              chunk.map((r): TransactionAction => [
                "delete",
                { partitionKey: pk, rowKey: r.jobId.toLowerCase() },
              ]),
              { abortSignal: options.abortSignal },
            );
          } catch (e) {
            if (!isNotFound(e)) throw e;
            // Someone removed one of them first: delete one by one, tolerating the gone ones.
            for (const r of chunk) {
              await client
                .deleteEntity(pk, r.jobId.toLowerCase(), { abortSignal: options.abortSignal })
                .catch((err: unknown) => {
                  if (!isNotFound(err)) throw err;
                });
            }
          }
        }
      }
    },
    async claimServer(vaultId, serverId, now, options = {}) {
      await ensure();
      const keys = { partitionKey: encodeKey(vaultId), rowKey: `${CLAIM_PREFIX}${encodeKey(serverId)}` };
      const entity = { ...keys, serverId: serverId.toLowerCase(), claimedAt: now.toISOString() };
      try {
        await client.createEntity(entity, { abortSignal: options.abortSignal });
        return true;
      } catch (e) {
        if (!(isRestError(e) && e.statusCode === 409)) throw e;
      }
      const current = await client
        .getEntity<{ claimedAt?: string }>(keys.partitionKey, keys.rowKey, {
          abortSignal: options.abortSignal,
        })
        .catch(() => undefined);
      if (
        !current?.claimedAt ||
        now.getTime() - new Date(current.claimedAt).getTime() <
          (options.staleAfterInMs ?? DEFAULT_CLAIM_STALE_AFTER_IN_MS)
      )
        return false;
      try {
        // Take over only the stale claim read: another starter that took it first wins.
        await replaceEntity(client, entity, {
          abortSignal: options.abortSignal,
          etag: current.etag,
          row: `Backup claim for ${serverId}`,
        });
        return true;
      } catch (e) {
        if (e instanceof ConflictError) return false;
        throw e;
      }
    },
    async releaseServer(vaultId, serverId, options = {}) {
      await ensure();
      await client
        .deleteEntity(encodeKey(vaultId), `${CLAIM_PREFIX}${encodeKey(serverId)}`, {
          abortSignal: options.abortSignal,
        })
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
    },
  };
}
