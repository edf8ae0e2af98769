/** A request that gave up (poison queue, or transient retries exhausted) leaves the row visibly failed. */
import type { ProtectionState } from "../domain/protectionStates.js";
import { ConflictError } from "../errors.js";
import type { Logger } from "../logger.js";
import { attentionKey, raiseAlert } from "./alerting.js";
import { errorCode } from "./armErrors.js";
import { gaveUp } from "./guidance.js";
import type { ProtectionMessage } from "./queueMessages.js";
import { causeToString } from "./queueMessages.js";
import type { WorkerContext } from "./run.js";

/** A protected server stays protected; the failure shows in its error fields. */
const KEPT_ON_POISON: readonly ProtectionState[] = ["Protected", "ProtectedUntagged", "ProtectedElsewhere"];

/** Leaves the row `Failed` (a protected row keeps its state) with why the request gave up after `gaveUpAfter`. */
export async function recordGaveUp(
  ctx: WorkerContext,
  message: ProtectionMessage,
  error: Error,
  gaveUpAfter: string,
  log: Logger = ctx.logger,
): Promise<void> {
  const cause = causeToString(message.cause);
  for (let i = 0; i < 5; i++) {
    const row = await ctx.store.get(message.resourceId);
    if (!row) return;
    try {
      const state = KEPT_ON_POISON.includes(row.state) ? row.state : "Failed";
      const code = errorCode(error) ?? error.name;
      const alertedFor = attentionKey(state, code);
      const written = await ctx.store.update({
        ...row,
        state,
        alertedFor: alertedFor ?? row.alertedFor,
        ...gaveUp(code, gaveUpAfter, error.message),
        leaseOwner: undefined,
        leaseUntil: undefined,
        attempts: 0,
        lastCause: cause,
        updatedAt: ctx.now().toISOString(),
      });
      await ctx.audit.append({
        action: "stateChange",
        target: row.resourceId,
        serverId: row.resourceId,
        cause,
        mode: ctx.settings.mode,
        result: "failed",
        detail: `${row.state} -> ${state} (poison)`,
      });
      if (alertedFor && row.alertedFor !== alertedFor) await raiseAlert(ctx, written, cause, log);
      return;
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
  }
}
