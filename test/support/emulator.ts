import {
  startEmulator,
  trustEmulatorCertificate,
  type RunningEmulator,
  type StartEmulatorOptions,
} from "../../dev/emulator/index.js";
import { useStarted } from "./suite.js";

/**
 * The whole ARM emulator for one suite, its CA trusted by this process's HTTPS clients: started in
 * `beforeAll` (options are built then, e.g. a seed dated `Date.now()`), stopped in `afterAll`.
 * Restores write their files into Azurite when given its connection string; declare `useAzurite()` first
 * (hooks run in order): `useEmulator(() => ({ blobConnectionString: azurite.connectionString }))`.
 */
export function useEmulator(options: () => StartEmulatorOptions = () => ({})): RunningEmulator {
  return useStarted(
    async () => {
      const emulator = await startEmulator(options());
      trustEmulatorCertificate(emulator.caCert);
      return emulator;
    },
    (emulator) => emulator.stop(),
    "The emulator is not running: use it inside tests or hooks, after beforeAll.",
  );
}
