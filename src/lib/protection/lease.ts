/**
 * The lease on a server's row: one request works on a server at a time, and every write is guarded by the
 * ETag read, so duplicates, reordering and concurrent deliveries never interleave their steps.
 */
import { RunEndedStates } from "../domain/protectionStates.js";
import { parseServerId } from "../domain/serverId.js";
import { ConflictError, TransientError } from "../errors.js";
import type { ServerRecord } from "../store/servers.js";
import type { ProcessOutcome, Run } from "./run.js";

/**
 * The lease changed hands while this run was writing: the run stops quietly, the owner carries on.
 * The one exception used for control flow: it can surface from any write of any step, and the worker
 * turns it into a `skipped` outcome at the top of the run.
 */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

/** Writes that lose an ETag race are re-read and tried again this many times. */
const CONFLICT_ATTEMPTS = 5;

/** The row's lease has not run out (whoever holds it). */
function leaseLive(run: Run, row: ServerRecord): boolean {
  return !!row.leaseUntil && Date.parse(row.leaseUntil) > run.ctx.now().getTime();
}

function leaseValidForOther(run: Run, row: ServerRecord): boolean {
  return !!row.leaseOwner && row.leaseOwner !== run.message.requestId && leaseLive(run, row);
}

/** True while `row` (default: the latest the run knows) is leased to the run's request. */
export function holdsLease(run: Run, row: ServerRecord | undefined = run.row): boolean {
  return !!row && row.leaseOwner === run.message.requestId && leaseLive(run, row);
}

/** The lease's end when the run checks back after `delayInMs`. */
export function leaseUntil(run: Run, delayInMs = 0): string {
  return new Date(run.ctx.now().getTime() + delayInMs + run.settings.leaseInMs).toISOString();
}

/**
 * Takes the server's lease for the run (creating the row on first sight), or says why there is nothing to
 * do. A different cause arriving while another request holds the lease is noted on the row, so the holder
 * evaluates the server again when it finishes instead of losing the change.
 */
export async function claim(run: Run): Promise<Extract<ProcessOutcome, { kind: "skipped" }> | undefined> {
  const { store } = run.ctx;
  const id = run.message.resourceId;
  const parts = parseServerId(id);
  if (!parts) return { kind: "skipped", reason: `"${id}" is not a server id` };
  const call = { abortSignal: run.signal };
  for (let i = 0; i < CONFLICT_ATTEMPTS; i++) {
    try {
      let row = await store.get(id, call);
      row ??= await store.create(
        { ...parts, state: "Pending", attempts: 0, updatedAt: run.nowIso(), lastCause: run.cause },
        call,
      );
      if (row.lastCause === run.cause && RunEndedStates.includes(row.state) && !row.leaseOwner) {
        return { kind: "skipped", reason: `${run.cause} was already handled (${row.state})` };
      }
      if (leaseValidForOther(run, row)) {
        if (row.lastCause !== run.cause && row.recheckCause !== run.cause) {
          await store.update({ ...row, recheckCause: run.cause }, call);
        }
        return { kind: "skipped", reason: `another request holds ${id}` };
      }
      // A continuation of this request keeps its lease: no claim write needed.
      run.row = holdsLease(run, row)
        ? row
        : await store.update(
            { ...row, leaseOwner: run.message.requestId, leaseUntil: leaseUntil(run) },
            call,
          );
      return undefined;
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
  }
  throw new TransientError(`Too much contention on the row of ${id}; retrying later.`);
}

/**
 * One ETag-guarded write of `patch` onto the run's row (an `undefined` field is removed), plus one audit row
 * when the state or error changes. On 412 it re-reads and re-applies the patch while the run still holds the
 * lease; throws `LeaseLostError` once another request holds it.
 */
export async function writeRow(run: Run, patch: Partial<ServerRecord>): Promise<ServerRecord> {
  const call = { abortSignal: run.signal };
  for (let i = 0; ; i++) {
    const before = run.row;
    const next: ServerRecord = { ...before, ...patch, updatedAt: run.nowIso(), lastCause: run.cause };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete (next as unknown as Record<string, unknown>)[k];
    }
    try {
      run.row = await run.ctx.store.update(next, call);
      run.replaced = before;
    } catch (e) {
      if (!(e instanceof ConflictError) || i >= CONFLICT_ATTEMPTS - 1) throw e;
      const fresh = await run.ctx.store.get(before.resourceId, call);
      if (!fresh || leaseValidForOther(run, fresh)) {
        throw new LeaseLostError(`Lost the lease on ${before.resourceId}.`);
      }
      run.row = fresh;
      continue;
    }
    if (before.state !== next.state || before.lastErrorCode !== next.lastErrorCode) {
      const error = next.lastErrorCode ? ` (${next.lastErrorCode})` : "";
      await run.audit(
        "stateChange",
        next.resourceId,
        next.resourceId,
        `${before.state} -> ${next.state}${error}`,
      );
    }
    return run.row;
  }
}

/**
 * Deletes the run's row, guarded by the ETag the run last read. On 412 it re-reads and tries again while the
 * run still holds the lease (another request may have noted a cause on it); a row already gone is done.
 * Returns the version deleted, or undefined when it was gone; throws `LeaseLostError` once another request
 * holds it.
 */
export async function deleteRow(run: Run): Promise<ServerRecord | undefined> {
  const call = { abortSignal: run.signal };
  for (let i = 0; ; i++) {
    const row = run.row;
    try {
      await run.ctx.store.delete(row, call);
      return row;
    } catch (e) {
      if (!(e instanceof ConflictError) || i >= CONFLICT_ATTEMPTS - 1) throw e;
      const fresh = await run.ctx.store.get(row.resourceId, call);
      if (!fresh) return undefined;
      if (!holdsLease(run, fresh)) throw new LeaseLostError(`Lost the lease on ${row.resourceId}.`);
      run.row = fresh;
    }
  }
}
