/** Which stops need someone, and telling them once per stop. */
import { protectionFailedAlert } from "../alerts/alerts.js";
import type { ProtectionState } from "../domain/protectionStates.js";
import { NeedsAttentionStates } from "../domain/protectionStates.js";
import { ensureError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ServerRecord } from "../store/servers.js";
import type { WorkerContext } from "./run.js";

/**
 * `state|code` of a stop that needs someone; undefined for every other state. The row keeps the key it
 * alerted for, so re-evaluations of the same stop (a daily sweep) stay quiet.
 */
export function attentionKey(state: ProtectionState, code: string | undefined): string | undefined {
  return NeedsAttentionStates.includes(state) ? `${state}|${code ?? state}` : undefined;
}

/** Raises the alert for a row that has just entered a stop; an alert never fails the run. */
export async function raiseAlert(
  ctx: WorkerContext,
  row: ServerRecord,
  cause: string,
  log: Logger,
): Promise<void> {
  if (!ctx.alerter) return;
  try {
    await ctx.alerter.raise(protectionFailedAlert(row, cause));
  } catch (e) {
    log.warn(`${row.resourceId}: could not raise the alert: ${ensureError(e).message}`);
  }
}
