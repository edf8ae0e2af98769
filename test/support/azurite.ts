import { startAzurite, type AzuriteHandle, type StartAzuriteOptions } from "../../dev/azurite/index.js";
import { useStarted } from "./suite.js";

/**
 * One Azurite per suite, started in `beforeAll` and stopped in `afterAll` (no globalSetup, nothing
 * running beforehand). Read the handle's fields inside tests or later hooks, not at collection time.
 *
 *   const azurite = useAzurite();
 *   it("...", () => QueueClient.fromConnectionString(azurite.connectionString, "q"));
 */
export function useAzurite(options: StartAzuriteOptions = {}): AzuriteHandle {
  return useStarted(
    () => startAzurite(options),
    (handle) => handle.stop(),
    "Azurite is not running: use its fields inside tests or hooks, after beforeAll.",
  );
}
