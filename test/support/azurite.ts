import { afterAll, beforeAll } from "vitest";
import { startAzurite, type AzuriteHandle, type StartAzuriteOptions } from "../../dev/azurite/index.js";

/**
 * One Azurite per suite, started in `beforeAll` and stopped in `afterAll` (no globalSetup, nothing
 * running beforehand). Read the handle's fields inside tests or later hooks, not at collection time.
 *
 *   const azurite = useAzurite();
 *   it("...", () => QueueClient.fromConnectionString(azurite.connectionString, "q"));
 */
export function useAzurite(options: StartAzuriteOptions = {}): AzuriteHandle {
  let handle: AzuriteHandle | undefined;
  beforeAll(async () => {
    handle = await startAzurite(options);
  });
  afterAll(async () => {
    await handle?.stop();
  });
  const current = (): AzuriteHandle => {
    if (!handle)
      throw new Error("Azurite is not running: use its fields inside tests or hooks, after beforeAll.");
    return handle;
  };
  return {
    get connectionString() {
      return current().connectionString;
    },
    get blobPort() {
      return current().blobPort;
    },
    get queuePort() {
      return current().queuePort;
    },
    get tablePort() {
      return current().tablePort;
    },
    get blobEndpoint() {
      return current().blobEndpoint;
    },
    get queueEndpoint() {
      return current().queueEndpoint;
    },
    get tableEndpoint() {
      return current().tableEndpoint;
    },
    stop: () => current().stop(),
  };
}
