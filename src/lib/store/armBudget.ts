import type { TableClient } from "@azure/data-tables";
import type { StorageConnection } from "./connection.js";
import { ensureTablesOnce } from "./connection.js";
import { createEntity, replaceEntity } from "./entities.js";
import { encodeKey } from "./keys.js";
import { getOrUndefined } from "../util/notFound.js";
import { ConflictError } from "../errors.js";
import { lowerRow, reserveFromRow, type BucketRow, type BucketShape } from "../domain/tokenBucket.js";

/**
 * The fleet's ARM budget: one row per subscription and kind (PK encoded subscription id, RK `reads` or
 * `writes`) holding a token bucket as of a time (`domain/tokenBucket.ts`). Every instance's pacer reserves
 * blocks of tokens with an ETag-guarded replace, so however many instances run, together they draw from one
 * bucket. A lost race (412) re-reads and tries again after a jittered pause. It implements the pacer's
 * `SharedBudget` port (`azure/fleetBudget.ts`) structurally: store does not import azure.
 */
export const ARM_BUDGET_TABLE = "armBudget";

export interface ArmBudgetRequestOptions extends BucketShape {
  nowInMs: number;
  /** The caller's clock, read after each read of the row: the time the row is refilled to (else `nowInMs`). */
  now?: () => number;
  abortSignal?: AbortSignal;
}

export interface ArmBudget {
  /**
   * Reserves `wanted` tokens: `waitInMs` from `atInMs` (the row's time once refilled) until they may be
   * spent, `left` in the row after.
   */
  take(
    key: string,
    kind: string,
    wanted: number,
    options: ArmBudgetRequestOptions,
  ): Promise<{ waitInMs: number; left: number; atInMs: number }>;
  /** The row holds at most `tokens` from now on. */
  lower(key: string, kind: string, tokens: number, options: ArmBudgetRequestOptions): Promise<void>;
  /** Table requests made (benchmarks and tests: round trips per ARM call). */
  requestCount(): number;
}

export interface ArmBudgetDeps {
  tableClient?: TableClient;
  /** Attempts of one take or lower before its ConflictError is thrown. Default 12. */
  maxAttempts?: number;
  /** Injectable for deterministic tests. */
  random?: () => number;
  /** The pause between attempts after a lost race (real time). */
  sleep?: (ms: number) => Promise<void>;
}

interface BudgetEntity {
  tokens: number;
  atInMs: number;
  etag?: string;
}

export function createArmBudget(connection: StorageConnection, deps: ArmBudgetDeps = {}): ArmBudget {
  const client = deps.tableClient ?? connection.tableClient(ARM_BUDGET_TABLE);
  const ensure = ensureTablesOnce(client);
  const maxAttempts = deps.maxAttempts ?? 12;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let requests = 0;

  async function read(
    pk: string,
    rk: string,
    abortSignal: AbortSignal | undefined,
  ): Promise<{ row: BucketRow; etag?: string } | undefined> {
    requests += 1;
    const e = await getOrUndefined(() => client.getEntity<BudgetEntity>(pk, rk, { abortSignal }));
    if (!e) return undefined;
    return {
      row: { tokens: Number(e.tokens), atInMs: Number(e.atInMs) },
      ...(e.etag ? { etag: e.etag } : {}),
    };
  }

  async function write(
    pk: string,
    rk: string,
    row: BucketRow,
    etag: string | undefined,
    existed: boolean,
    abortSignal: AbortSignal | undefined,
  ): Promise<void> {
    requests += 1;
    // Doubles always: a whole number would be typed Int32 and `atInMs` does not fit one.
    const entity = {
      partitionKey: pk,
      rowKey: rk,
      tokens: { value: String(row.tokens), type: "Double" as const },
      atInMs: { value: String(row.atInMs), type: "Double" as const },
    };
    const options = { abortSignal, row: `ARM budget ${rk}/${pk}` };
    if (existed) await replaceEntity(client, entity, { ...options, etag: etag ?? "*" });
    else await createEntity(client, entity, options);
  }

  /** Read, decide, write under the ETag read; on a lost race pause (jittered, growing) and decide again. */
  async function update<T>(
    key: string,
    kind: string,
    options: ArmBudgetRequestOptions,
    decide: (row: BucketRow | undefined, nowInMs: number) => { row: BucketRow | undefined; result: T },
  ): Promise<T> {
    await ensure();
    const pk = encodeKey(key);
    for (let attempt = 1; ; attempt++) {
      const current = await read(pk, kind, options.abortSignal);
      // Decided as of now, not as of the first attempt: a slow read or a lost race costs the lease no life.
      const { row, result } = decide(current?.row, options.now?.() ?? options.nowInMs);
      if (!row) return result;
      try {
        await write(pk, kind, row, current?.etag, current !== undefined, options.abortSignal);
        return result;
      } catch (e) {
        if (!(e instanceof ConflictError) || attempt >= maxAttempts) throw e;
        await sleep(Math.round(Math.min(200, 5 * 2 ** attempt) * (0.5 + random())));
      }
    }
  }

  return {
    requestCount: () => requests,
    take: (key, kind, wanted, options) =>
      update(key, kind, options, (row, nowInMs) => {
        const next = reserveFromRow(row, wanted, options, nowInMs);
        return {
          row: next.row,
          result: { waitInMs: next.waitInMs, left: next.row.tokens, atInMs: nowInMs },
        };
      }),
    lower: (key, kind, tokens, options) =>
      update(key, kind, options, (row, nowInMs) => ({
        row: lowerRow(row, tokens, options, nowInMs),
        result: undefined,
      })),
  };
}
