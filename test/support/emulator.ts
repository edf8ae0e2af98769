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

/** One raw ARM call to the emulator (api-version 2024-04-01 unless the path has one); the JSON answer, or throws. */
export async function armCall(
  emulator: Pick<RunningEmulator, "url">,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const url = new URL(path, emulator.url);
  if (!url.searchParams.has("api-version")) url.searchParams.set("api-version", "2024-04-01");
  const res = await fetch(url, {
    method,
    headers: { authorization: "Bearer emulator-token", "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Assigns a built-in role (by its GUID) to a service principal at `scope`, through the emulator's ARM API. */
export async function assignEmulatorRole(
  emulator: Pick<RunningEmulator, "url">,
  subscriptionId: string,
  scope: string,
  roleGuid: string,
  principalId: string,
): Promise<void> {
  await armCall(
    emulator,
    "PUT",
    `${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`,
    {
      properties: {
        roleDefinitionId: `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
        principalId,
        principalType: "ServicePrincipal",
      },
    },
  );
}

/**
 * The app settings of a host or CLI run over the emulator: `storage` as AzureWebJobsStorage, the emulator as ARM
 * (its emulator credential), one subscription in scope, a westeurope vault and the `weekly` policy.
 */
export function emulatorAppSettings(options: {
  storage: string;
  emulatorUrl: string;
  subscriptionId: string;
  vault: string;
  timeScale: number;
}): Record<string, string> {
  return {
    AzureWebJobsStorage: options.storage,
    PGFLEX_ARM_ENDPOINT: options.emulatorUrl,
    PGFLEX_ARM_CREDENTIAL: "emulator",
    PGFLEX_SCOPES: options.subscriptionId,
    PGFLEX_VAULT_MAP: `westeurope=${options.vault}`,
    PGFLEX_POLICY_MAP: "weekly=pgflex-weekly",
    PGFLEX_TIME_SCALE: String(options.timeScale),
  };
}
