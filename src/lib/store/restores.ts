import { createHash, randomBytes } from "node:crypto";
import type { TableClient, TableEntityResult } from "@azure/data-tables";
import { odata } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { createEntity, definedFields, replaceEntity, storedFields } from "./entities.js";
import type { Entity } from "./entities.js";
import { readKeysetPage, type KeysetPage } from "./keysetPages.js";
import { ConflictError } from "../errors.js";
import { isNotFound } from "../util/notFound.js";
import type { OperationOptions } from "../util/options.js";
import { decodePageToken, InvalidContinuationTokenError } from "../util/pageToken.js";

/**
 * Restores as files, one row each (PK `restore`, RK the restore id, which sorts newest first), and one claim
 * row per server and recovery point while a restore of it runs (PK `claim`, RK a hash of both): creating the
 * claim is what lets a restore start, so two concurrent requests cannot both start a job.
 */
export const RESTORES_TABLE = "restores";

export type RestoreStatus = "Starting" | "InProgress" | "Completed" | "Failed";

/** Statuses after which nothing changes and a new restore of the same point may start. */
export const endedRestoreStatuses: readonly RestoreStatus[] = ["Completed", "Failed"];

export interface RestoreFile {
  /** Blob name, e.g. `<guid>_database_orders.sql`. */
  name: string;
  sizeInBytes: number;
  /** What the file holds: a database's pg_dump custom archive, or the server's roles, schema or tablespaces. */
  kind: "database" | "roles" | "schema" | "tablespaces" | "timestamp";
  /** The database, for `kind: "database"`. */
  database?: string;
}

export interface RestoreRecord {
  restoreId: string;
  serverId: string;
  serverName: string;
  vaultId: string;
  instanceName: string;
  recoveryPointId: string;
  recoveryPointTime: string;
  targetContainerId: string;
  containerUrl: string;
  status: RestoreStatus;
  jobId?: string;
  jobResourceId?: string;
  requestedBy?: string;
  createdAt: string;
  updatedAt: string;
  endTime?: string;
  errorCode?: string;
  errorMessage?: string;
  /** The files the restore wrote (set once the job completed). */
  files?: RestoreFile[];
  /** The commands that rebuild the server from the files, in order. */
  commands?: string[];
  etag?: string;
}

export type NewRestore = Omit<RestoreRecord, "restoreId" | "status" | "createdAt" | "updatedAt" | "etag">;

export type RestoreStoreOptions = OperationOptions;

export interface RestoreClaimOptions extends RestoreStoreOptions {
  /** A claim whose restore is still `Starting` after this long is a crashed starter's and is taken over. */
  staleAfterInMs?: number;
}

export type RestoreClaim =
  { created: true; record: RestoreRecord } | { created: false; existing: RestoreRecord };

export interface RestoreStore {
  /**
   * Records a new `Starting` restore of the server's recovery point, unless one is running: then the
   * running one (the caller answers with its id, and starts nothing).
   */
  claim(restore: NewRestore, now: Date, options?: RestoreClaimOptions): Promise<RestoreClaim>;
  get(restoreId: string, options?: RestoreStoreOptions): Promise<RestoreRecord | undefined>;
  /** Replaces the row while it has the ETag read (ConflictError otherwise); an ended restore frees its claim. */
  update(record: RestoreRecord, now: Date, options?: RestoreStoreOptions): Promise<RestoreRecord>;
  /** Newest first; `continuationToken` from a previous page. */
  listPage(
    options?: RestoreStoreOptions & { serverId?: string; top?: number; continuationToken?: string },
  ): Promise<KeysetPage<RestoreRecord>>;
  /** Restores not yet ended (the tracker's work). */
  listActive(options?: RestoreStoreOptions): Promise<RestoreRecord[]>;
}

export const DEFAULT_RESTORE_CLAIM_STALE_AFTER_IN_MS = 15 * 60_000;

const RESTORE_PK = "restore";
const CLAIM_PK = "claim";
const MAX_TIME = 9_999_999_999_999;

/** A new restore id: inverted milliseconds (newest sorts first) and 8 random hex digits. */
function newRestoreId(now: Date): string {
  return `${String(MAX_TIME - now.getTime()).padStart(13, "0")}-${randomBytes(4).toString("hex")}`;
}

const RESTORE_ID = /^\d{13}-[0-9a-f]{8}$/;

/** True for a string shaped like a restore id this store makes. */
export function isRestoreId(value: string): boolean {
  return RESTORE_ID.test(value);
}

function claimKey(serverId: string, recoveryPointId: string): string {
  return createHash("sha256")
    .update(`${serverId.toLowerCase()}|${recoveryPointId.toLowerCase()}`)
    .digest("hex")
    .slice(0, 40);
}

const fields = [
  "serverId",
  "serverName",
  "vaultId",
  "instanceName",
  "recoveryPointId",
  "recoveryPointTime",
  "targetContainerId",
  "containerUrl",
  "status",
  "jobId",
  "jobResourceId",
  "requestedBy",
  "createdAt",
  "updatedAt",
  "endTime",
  "errorCode",
  "errorMessage",
] as const;

function toEntity(r: RestoreRecord): Entity {
  return {
    partitionKey: RESTORE_PK,
    rowKey: r.restoreId,
    ...definedFields(r, fields),
    ...(r.files ? { files: JSON.stringify(r.files) } : {}),
    ...(r.commands ? { commands: JSON.stringify(r.commands) } : {}),
  };
}

function fromEntity(e: TableEntityResult<Record<string, unknown>>): RestoreRecord {
  const parse = <T>(v: unknown): T | undefined => (typeof v === "string" ? (JSON.parse(v) as T) : undefined);
  const files = parse<RestoreFile[]>(e["files"]);
  const commands = parse<string[]>(e["commands"]);
  return {
    ...(storedFields(e, fields) as Omit<RestoreRecord, "restoreId">),
    restoreId: String(e.rowKey),
    ...(files ? { files } : {}),
    ...(commands ? { commands } : {}),
    ...(e.etag ? { etag: e.etag } : {}),
  };
}

export function createRestoreStore(
  connection: StorageConnection,
  deps: { tableClient?: TableClient } = {},
): RestoreStore {
  const client = deps.tableClient ?? connection.tableClient(RESTORES_TABLE);
  const ensure = ensureTablesOnce(client);

  async function get(
    restoreId: string,
    options: RestoreStoreOptions = {},
  ): Promise<RestoreRecord | undefined> {
    await ensure();
    try {
      return fromEntity(
        await client.getEntity<Record<string, unknown>>(RESTORE_PK, restoreId, {
          abortSignal: options.abortSignal,
        }),
      );
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async function readClaim(key: string, options: RestoreStoreOptions) {
    try {
      return await client.getEntity<Record<string, unknown>>(CLAIM_PK, key, {
        abortSignal: options.abortSignal,
      });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async function freeClaim(r: RestoreRecord, options: RestoreStoreOptions): Promise<void> {
    const key = claimKey(r.serverId, r.recoveryPointId);
    const claim = await readClaim(key, options);
    if (!claim || claim["restoreId"] !== r.restoreId) return;
    try {
      await client.deleteEntity(CLAIM_PK, key, { etag: claim.etag, abortSignal: options.abortSignal });
    } catch (e) {
      // Taken over or freed meanwhile: the claim is not this restore's any more.
      if (
        !isNotFound(e) &&
        !(e instanceof ConflictError) &&
        (e as { statusCode?: number }).statusCode !== 412
      )
        throw e;
    }
  }

  return {
    async claim(restore, now, options = {}) {
      await ensure();
      const staleAfter = options.staleAfterInMs ?? DEFAULT_RESTORE_CLAIM_STALE_AFTER_IN_MS;
      const key = claimKey(restore.serverId, restore.recoveryPointId);
      const record: RestoreRecord = {
        ...restore,
        serverId: restore.serverId.toLowerCase(),
        restoreId: newRestoreId(now),
        status: "Starting",
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      };
      const claimRow: Entity = {
        partitionKey: CLAIM_PK,
        rowKey: key,
        restoreId: record.restoreId,
        claimedAt: now.toISOString(),
      };
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await createEntity(client, claimRow, {
            row: `Restore claim ${key}`,
            abortSignal: options.abortSignal,
          });
          const etag = await createEntity(client, toEntity(record), {
            row: `Restore ${record.restoreId}`,
            abortSignal: options.abortSignal,
          });
          return { created: true, record: { ...record, ...(etag ? { etag } : {}) } };
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
        }
        const claim = await readClaim(key, options);
        if (!claim) continue; // freed meanwhile: try again
        const holder = await get(String(claim["restoreId"]), options);
        const claimedAt = Date.parse(String(claim["claimedAt"]));
        const ended = holder && endedRestoreStatuses.includes(holder.status);
        const crashed = (!holder || holder.status === "Starting") && now.getTime() - claimedAt >= staleAfter;
        if (holder && !ended && !crashed) return { created: false, existing: holder };
        // The holder ended (its claim was not freed) or crashed before starting a job: take the claim over.
        try {
          await client.deleteEntity(CLAIM_PK, key, { etag: claim.etag, abortSignal: options.abortSignal });
        } catch (e) {
          if (!isNotFound(e) && (e as { statusCode?: number }).statusCode !== 412) throw e;
        }
        if (holder && crashed) {
          await replaceEntity(
            client,
            toEntity({
              ...holder,
              status: "Failed",
              errorCode: "RestoreStartAbandoned",
              errorMessage: "The request that claimed this restore stopped before Azure accepted it.",
              updatedAt: now.toISOString(),
            }),
            {
              row: `Restore ${holder.restoreId}`,
              etag: holder.etag ?? "*",
              abortSignal: options.abortSignal,
            },
          ).catch((e: unknown) => {
            if (!(e instanceof ConflictError)) throw e;
          });
        }
      }
      throw new ConflictError(
        `Restore of ${restore.serverName} at ${restore.recoveryPointId} is being claimed concurrently.`,
      );
    },

    get,

    async update(record, now, options = {}) {
      await ensure();
      const next = { ...record, updatedAt: now.toISOString() };
      const etag = await replaceEntity(client, toEntity(next), {
        row: `Restore ${record.restoreId}`,
        ...(record.etag ? { etag: record.etag } : {}),
        abortSignal: options.abortSignal,
      });
      const saved = { ...next, ...(etag ? { etag } : {}) };
      if (endedRestoreStatuses.includes(saved.status)) await freeClaim(saved, options);
      return saved;
    },

    async listPage(options = {}) {
      const after = options.continuationToken ? decodePageToken(options.continuationToken) : undefined;
      if (after && after.partitionKey !== RESTORE_PK) throw new InvalidContinuationTokenError();
      await ensure();
      return readKeysetPage(
        client,
        {
          filters: [
            odata`PartitionKey eq ${RESTORE_PK}`,
            ...(options.serverId ? [odata`serverId eq ${options.serverId.toLowerCase()}`] : []),
          ],
          ...(after ? { after } : {}),
          top: options.top ?? 50,
          ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
        },
        fromEntity,
      );
    },

    async listActive(options = {}) {
      await ensure();
      const out: RestoreRecord[] = [];
      for await (const e of client.listEntities<Record<string, unknown>>({
        queryOptions: {
          filter: odata`PartitionKey eq ${RESTORE_PK} and status ne ${"Completed"} and status ne ${"Failed"}`,
        },
        abortSignal: options.abortSignal,
      })) {
        out.push(fromEntity(e));
      }
      return out;
    },
  };
}

/** In-memory {@link RestoreStore} with the same claim and ETag rules (the CLI, which keeps nothing in Storage). */
export function createInMemoryRestoreStore(): RestoreStore {
  const rows = new Map<string, RestoreRecord>();
  const claims = new Map<string, string>();
  let n = 0;
  const put = (r: RestoreRecord): RestoreRecord => {
    const stored = structuredClone({ ...r, etag: `W/"${++n}"` });
    rows.set(stored.restoreId, stored);
    return structuredClone(stored);
  };
  const active = (r: RestoreRecord | undefined) =>
    r !== undefined && !endedRestoreStatuses.includes(r.status);
  return {
    async claim(restore, now) {
      const key = claimKey(restore.serverId, restore.recoveryPointId);
      const holder = rows.get(claims.get(key) ?? "");
      if (holder && active(holder)) return { created: false, existing: structuredClone(holder) };
      const record = put({
        ...restore,
        serverId: restore.serverId.toLowerCase(),
        restoreId: newRestoreId(now),
        status: "Starting",
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      });
      claims.set(key, record.restoreId);
      return { created: true, record };
    },
    async get(restoreId) {
      const r = rows.get(restoreId);
      return r && structuredClone(r);
    },
    async update(record, now) {
      const current = rows.get(record.restoreId);
      if (record.etag && current?.etag !== record.etag)
        throw new ConflictError(`Restore ${record.restoreId} changed concurrently.`);
      return put({ ...record, updatedAt: now.toISOString() });
    },
    async listPage(options = {}) {
      const items = [...rows.values()]
        .filter((r) => !options.serverId || r.serverId === options.serverId.toLowerCase())
        .sort((a, b) => a.restoreId.localeCompare(b.restoreId))
        .map((r) => structuredClone(r));
      return { items };
    },
    async listActive() {
      return [...rows.values()].filter(active).map((r) => structuredClone(r));
    },
  };
}
