import type { ServerRecord, ServerStore } from "../store/servers.js";
import { NeedsAttentionStates } from "../domain/protectionStates.js";
import type { OperationOptions } from "../util/options.js";

/**
 * The rows a sweep compares with Azure: the states a person may have to act on, Protected rows, which
 * carry protectedAt so a new instance is not called stale before its first backup is due, and servers the
 * worker waits on (re-enqueued once Ready).
 */
export function createRecordedServers(
  servers: Pick<ServerStore, "list">,
): (options?: OperationOptions) => AsyncIterable<ServerRecord> {
  return async function* (options) {
    for (const state of [...NeedsAttentionStates, "Protected", "WaitingForServer"] as const) {
      yield* servers.list({ state, ...options });
    }
  };
}
