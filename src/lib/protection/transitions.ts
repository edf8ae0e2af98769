/** How a run ends: a stop the row settles in, or a later message that carries on with the lease kept. */
import type { ProtectionState } from "../domain/protectionStates.js";
import { RunEndedStates } from "../domain/protectionStates.js";
import type { ServerRecord } from "../store/servers.js";
import { Metrics, secondsBetween, telemetry } from "../telemetry/index.js";
import { attentionKey, raiseAlert } from "./alerting.js";
import { backoffInMs } from "./decide.js";
import type { Guidance } from "./guidance.js";
import {
  neverKnownRemoved,
  operationTimedOut,
  serverNotReadyInTime,
  serverStopped,
  waitingForServer,
} from "./guidance.js";
import { deleteRow, leaseUntil, writeRow } from "./lease.js";
import { createProtectionMessage, parseCause } from "./queueMessages.js";
import type { ProtectionQueue } from "./queueMessages.js";
import type { ProtectTarget, Requeued, Run, Settled, StepOutcome, WorkerContext } from "./run.js";

/** The fields a stop writes: any of the row's, plus the guidance a person reads. */
export type StopFields = Partial<ServerRecord> & Partial<Guidance>;

/**
 * Ends the run in `state`, releasing the lease and the run's counters. Raises the alert for a new stop
 * that needs someone, and sends the cause noted by another request while this run held the lease.
 */
export async function settle(run: Run, state: ProtectionState, extra: StopFields = {}): Promise<Settled> {
  const alertedFor = attentionKey(state, extra.lastErrorCode);
  const alert = !!alertedFor && run.row.alertedFor !== alertedFor;
  const firstProtected = state === "Protected" && !run.row.protectedAt;
  await writeRow(run, {
    state,
    alertedFor,
    lastErrorCode: undefined,
    lastErrorMessage: undefined,
    fix: undefined,
    leaseOwner: undefined,
    leaseUntil: undefined,
    waitingSince: undefined,
    operationState: undefined,
    recheckCause: undefined,
    ...(RunEndedStates.includes(state) ? { attempts: 0 } : {}),
    ...(state === "Protected" && !run.row.protectedAt ? { protectedAt: run.nowIso() } : {}),
    ...extra,
  });
  run.log.info(`${run.row.resourceId}: ${state}${extra.lastErrorCode ? ` (${extra.lastErrorCode})` : ""}`);
  if (firstProtected) recordProtectionTime(run);
  if (alert) await raiseAlert(run.ctx, run.row, run.cause, run.log);
  await sendRecheck(run, run.replaced?.recheckCause);
  return { kind: "settled", state };
}

/** `pgflex.protection.duration`: from the request's first event (its first message) to `Protected`. */
function recordProtectionTime(run: Run): void {
  const seconds = secondsBetween(run.message.enqueuedAt, run.ctx.now().getTime());
  if (seconds === undefined) return;
  const { subscriptionId, region = "", vaultId = "", policyName = "" } = run.row;
  telemetry().record(Metrics.protectionDuration.name, seconds, {
    subscription: subscriptionId,
    region,
    vault: vaultId.toLowerCase(),
    policy: policyName,
  });
}

/**
 * Ends the run of a server ARM answers 404 for whose row never got past `Pending` (an event for a server
 * that never existed, or was gone before the worker saw it): the row is removed, not kept as `Deleted`, with
 * one audit row saying why. A redelivery records it again and removes it again: one row write and one
 * delete per delivery, no alert.
 */
export async function removeNeverKnown(run: Run): Promise<Settled> {
  const id = run.row.resourceId;
  const deleted = await deleteRow(run);
  if (deleted) {
    await run.audit("removeRow", id, id, neverKnownRemoved);
    run.log.info(`${id}: not found in Azure and never known; its Pending row was removed.`);
  }
  await sendRecheck(run, deleted?.recheckCause);
  return { kind: "settled", state: "Deleted", removed: true };
}

/** Sends the cause another request noted while this run held the lease, so it is evaluated too. */
async function sendRecheck(run: Run, recheck: string | undefined): Promise<void> {
  const cause = recheck && recheck !== run.cause ? parseCause(recheck) : undefined;
  if (cause) {
    await run.ctx.queue.send(createProtectionMessage(run.row.resourceId, cause, { now: run.ctx.now() }), {
      abortSignal: run.signal,
    });
  }
}

/**
 * The queue a run's next message for a row in `state` goes to. A `Configuring` row only reads its instance
 * until it settles, so its follow-ups have their own queue and trigger: on the one queue they would wait,
 * in visibility order, behind a burst's new requests that all wait for ARM's write bucket, and the burst
 * would end with thousands of reads queued behind the last write.
 */
export function followUpQueue(ctx: WorkerContext, state: ProtectionState): ProtectionQueue {
  return state === "Configuring" ? ctx.checks : ctx.queue;
}

/** Keeps the lease and sends the same request again after `delayInMs`. */
export async function requeue(
  run: Run,
  state: ProtectionState,
  patch: Partial<ServerRecord>,
  delayInMs: number,
): Promise<Requeued> {
  await writeRow(run, {
    state,
    // A validation in flight is kept only when the caller passes it on.
    operationState: undefined,
    // The run got past the transient failure shown on the row.
    ...(run.message.transientFailures
      ? { lastErrorCode: undefined, lastErrorMessage: undefined, fix: undefined }
      : {}),
    ...patch,
    attempts: (run.row.attempts ?? 0) + 1,
    leaseOwner: run.message.requestId,
    leaseUntil: leaseUntil(run, delayInMs),
  });
  const { transientFailures: _failures, retriedForInMs: _waited, ...next } = run.message;
  await followUpQueue(run.ctx, state).send(
    { ...next, attempt: run.message.attempt + 1 },
    { visibilityTimeoutInMs: delayInMs, abortSignal: run.signal },
  );
  return { kind: "requeued", state, delayInMs };
}

/** The backoff before the next generation of a retry-later request. */
export function nextBackoffInMs(run: Run): number {
  return backoffInMs(run.message.attempt, run.settings.retryBaseInMs, run.settings.retryCapInMs);
}

/** Keeps the lease and checks back after `delayInMs`, unless the run has taken longer than the deadline. */
export async function continueLater(
  run: Run,
  state: ProtectionState,
  patch: Partial<ServerRecord>,
  delayInMs: number,
): Promise<Settled | Requeued> {
  const deadlineInMs = run.settings.waitForServerDeadlineInMs;
  const since = patch.waitingSince ?? run.row.waitingSince ?? run.nowIso();
  if (run.ctx.now().getTime() - Date.parse(since) >= deadlineInMs) {
    return settle(run, "Failed", operationTimedOut(state, deadlineInMs));
  }
  return requeue(run, state, { ...patch, waitingSince: since }, delayInMs);
}

/**
 * Waits for the server to be Ready, up to `waitForServerDeadlineInMs` since the wait began. A `Stopped`
 * server may stay so for seven days: it is parked as `WaitingForServer` with the reason, its lease released,
 * no message and no deadline; its start event or a sweep that sees it Ready starts a new run.
 */
export async function waitForServer(
  run: Run,
  serverState: string,
  target: Partial<ProtectTarget>,
): Promise<StepOutcome> {
  if (serverState.toLowerCase() === "stopped") {
    return settle(run, "WaitingForServer", {
      ...target,
      ...serverStopped(run.row.resourceId),
      attempts: 0,
    });
  }
  const deadlineInMs = run.settings.waitForServerDeadlineInMs;
  const since = run.row.waitingSince ?? run.nowIso();
  if (run.ctx.now().getTime() - Date.parse(since) >= deadlineInMs) {
    return settle(run, "Failed", { ...target, ...serverNotReadyInTime(deadlineInMs, serverState) });
  }
  return requeue(
    run,
    "WaitingForServer",
    {
      ...target,
      waitingSince: since,
      lastErrorCode: undefined,
      lastErrorMessage: waitingForServer(serverState),
    },
    nextBackoffInMs(run),
  );
}
