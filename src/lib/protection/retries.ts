/**
 * A run that failed with an error: a transient Azure failure is retried in a fresh message while the run
 * holds the lease and the retry budget lasts; anything else goes back to the queue, and the last delivery
 * gives up.
 */
import { ensureError } from "../errors.js";
import { errorCode, isTransientFailure, statusOf } from "./armErrors.js";
import { backoffInMs } from "./decide.js";
import { durationText, retryingTransient } from "./guidance.js";
import { holdsLease, leaseUntil, writeRow } from "./lease.js";
import { recordGaveUp } from "./poison.js";
import type { ProcessOutcome, Requeued, Run } from "./run.js";
import { followUpQueue } from "./transitions.js";

export async function onRunError(run: Run, error: Error): Promise<ProcessOutcome> {
  const { message, options, log } = run;
  if (isTransientFailure(error) && holdsLease(run) && !options.abortSignal?.aborted) {
    if (!mayRetryTransient(run)) {
      const failures = (message.transientFailures ?? 0) + 1;
      const waited = durationText(message.retriedForInMs ?? 0);
      log.error(`${message.resourceId}: giving up after ${failures} transient failures: ${error.message}`);
      await recordGaveUp(run.ctx, message, error, `${failures} attempts over ${waited}`, log);
      return { kind: "settled", state: "Failed" };
    }
    try {
      const retried = await retryTransient(run, error);
      log.warn(
        `${message.resourceId}: transient failure, retrying in ${retried.delayInMs} ms: ${error.message}`,
      );
      return retried;
    } catch (writeError) {
      // Storage is failing too: leave the message to the queue's own redelivery.
      log.warn(`${message.resourceId}: could not schedule a retry: ${ensureError(writeError).message}`);
    }
  }
  const dequeueCount = options.dequeueCount ?? 1;
  if (dequeueCount >= run.settings.maxDequeueCount) {
    log.error(`${message.resourceId}: giving up after ${dequeueCount} deliveries: ${error.message}`);
    await recordGaveUp(run.ctx, message, error, `${dequeueCount} deliveries`, log);
    return { kind: "settled", state: "Failed" };
  }
  log.warn(`${message.resourceId}: attempt ${dequeueCount} failed, the queue will retry: ${error.message}`);
  throw error;
}

/** The retries of transient failures have not yet waited `transientRetryDeadlineInMs` in all. */
function mayRetryTransient(run: Run): boolean {
  return (run.message.retriedForInMs ?? 0) < run.settings.transientRetryDeadlineInMs;
}

/**
 * A transient Azure failure (5xx, 429 after the client's own retries, a reset connection): show it on the
 * row and try again in a fresh message after a backoff, so a flaky minute never spends the queue's few
 * deliveries. Only while `mayRetryTransient`.
 */
async function retryTransient(run: Run, error: Error): Promise<Requeued> {
  const s = run.settings;
  const failures = (run.message.transientFailures ?? 0) + 1;
  const waited = run.message.retriedForInMs ?? 0;
  const delayInMs = backoffInMs(failures - 1, s.transientRetryBaseInMs, s.transientRetryCapInMs);
  const code = errorCode(error) ?? (statusOf(error) ? `HTTP${statusOf(error)}` : error.name);
  await writeRow(run, {
    ...retryingTransient(code, failures, delayInMs, s.transientRetryDeadlineInMs - waited, error.message),
    leaseUntil: leaseUntil(run, delayInMs),
  });
  await followUpQueue(run.ctx, run.row.state).send(
    { ...run.message, transientFailures: failures, retriedForInMs: waited + delayInMs },
    { visibilityTimeoutInMs: delayInMs, abortSignal: run.signal },
  );
  return { kind: "requeued", state: run.row.state, delayInMs };
}
