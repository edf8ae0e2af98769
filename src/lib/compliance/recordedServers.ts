import type { ServerRecord, ServerStore } from "../store/servers.js";

/**
 * The rows a sweep compares with Azure: the states a person may have to act on, and Protected rows, which
 * carry protectedAt so a new instance is not called stale before its first backup is due.
 */
export function createRecordedServers(
  servers: Pick<ServerStore, "list">,
): (options?: { abortSignal?: AbortSignal }) => AsyncIterable<ServerRecord> {
  return async function* (options) {
    for (const state of [
      "Failed",
      "MissingPermissions",
      "NoVaultForRegion",
      "UnknownPolicyTag",
      "Protected",
    ] as const) {
      yield* servers.list({ state, ...options });
    }
  };
}
