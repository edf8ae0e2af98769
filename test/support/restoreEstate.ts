/**
 * The restore flows' estate (test/flows/restore*.test.ts): orders-db of the demo estate in westeurope, a vault
 * bv-weu, two restore accounts (one disallows cross-tenant replication), the local Functions host over the ARM
 * emulator and Azurite, and its API called with signed development tokens.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll } from "vitest";
import type { RunningEmulator, StartEmulatorOptions } from "../../dev/emulator/index.js";
import type { LocalHost } from "../../dev/host/index.js";
import { startDevAuth, type DevAuth } from "../../dev/start/devAuth.js";
import { assignEmulatorRole, emulatorAppSettings } from "./emulator.js";
import { addEmulatorVault } from "./emulatorVaults.js";
import { subscribeHostToEvents, waitFor } from "./localHost.js";

export const SUB = "11111111-1111-4111-8111-111111111111";
export const RG = "rg-data";
export const SERVER = "orders-db";
export const SERVER_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${SERVER}`;
export const VAULT = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-weu`;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const LTR = "c088a766-074b-43ba-90d4-1fb21feae531";
const BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
export const TIME_SCALE = 200;
export const accountId = (name: string) =>
  `/subscriptions/${SUB}/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/${name}`;
export const containerId = (account: string, container: string) =>
  `${accountId(account)}/blobServices/default/containers/${container}`;
/** The vault identity may write here. */
export const TARGET = containerId("pgflexrestores", "restores");
/** The API path of orders-db. */
export const serverPath = `servers/${SUB}/${RG}/${SERVER}`;

/** orders-db's databases in the demo estate (`orders` and `billing`, a few tables and rows each). */
const ordersDatabases = (
  JSON.parse(readFileSync("dev/emulator/seeds/demo-estate.json", "utf8")) as {
    providers: { pgdata: { servers: Array<{ databases: Array<{ name: string }> }> } };
  }
).providers.pgdata.servers[0]?.databases;

/** Emulator options for the estate, restores writing their files into Azurite. */
export function restoreEstate(blobConnectionString: string): StartEmulatorOptions {
  return {
    timeScale: TIME_SCALE,
    blobConnectionString,
    seed: {
      subscriptions: [{ subscriptionId: SUB, displayName: "Production" }],
      providers: {
        pgdata: { servers: [{ serverId: SERVER_ID, databases: ordersDatabases }] },
        storage: {
          accounts: {
            restores: {
              subscriptionId: SUB,
              resourceGroupName: "rg-restore",
              name: "pgflexrestores",
              location: "westeurope",
              allowCrossTenantReplication: true,
              publicNetworkAccess: "Enabled",
              containers: ["restores", "restores-norole"],
            },
            locked: {
              subscriptionId: SUB,
              resourceGroupName: "rg-restore",
              name: "pgflexlocked",
              location: "westeurope",
              allowCrossTenantReplication: false,
              publicNetworkAccess: "Enabled",
              containers: ["restores-locked"],
            },
          },
        },
      },
    },
  };
}

/** The app settings of a host or CLI run over the estate: Azurite storage, the emulator as ARM, bv-weu, `weekly`. */
export function estateSettings(azuriteConnectionString: string, emulatorUrl: string): Record<string, string> {
  return emulatorAppSettings({
    storage: azuriteConnectionString,
    emulatorUrl,
    subscriptionId: SUB,
    vault: VAULT,
    timeScale: TIME_SCALE,
  });
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** Calls the host's API as the holder of `token`; the answer with its JSON body (`{}` when empty). */
export function hostApi(host: () => Pick<LocalHost, "url" | "functionKey">) {
  return async (method: "GET" | "POST", path: string, token: string, body?: unknown): Promise<Answer> => {
    const { url, functionKey } = host();
    const res = await fetch(new URL(`/api/${path}`, url), {
      method,
      headers: {
        "x-functions-key": functionKey,
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  };
}

/**
 * Adds the vault (Reader and LTR on the server's group, Blob Data Contributor on TARGET), subscribes the host to
 * the emulator's events and creates orders-db tagged `backup: weekly`; returns, once the API shows it Protected,
 * the vault's principal id.
 */
export async function protectOrdersDb(
  emulator: RunningEmulator,
  host: Pick<LocalHost, "url" | "eventGridKey">,
  isProtected: () => Promise<boolean>,
): Promise<string> {
  const principalId = await addEmulatorVault(emulator, {
    subscriptionId: SUB,
    resourceGroupName: "rg-backup",
    name: "bv-weu",
    location: "westeurope",
  });
  const group = `/subscriptions/${SUB}/resourceGroups/${RG}`;
  await assignEmulatorRole(emulator, SUB, group, READER, principalId);
  await assignEmulatorRole(emulator, SUB, group, LTR, principalId);
  await assignEmulatorRole(emulator, SUB, TARGET, BLOB_CONTRIBUTOR, principalId);
  await subscribeHostToEvents(emulator, host, SUB);
  await emulator.control.createServer({
    subscriptionId: SUB,
    resourceGroupName: RG,
    name: SERVER,
    location: "westeurope",
    state: "Ready",
    tags: { backup: "weekly" },
    publishEvent: true,
  });
  await waitFor(async () => ((await isProtected()) ? true : undefined), `${SERVER} to be Protected`, {
    timeoutInMs: 60_000,
    intervalInMs: 200,
  });
  return principalId;
}

/**
 * Development auth for one suite, with a token per role: started in `beforeAll`, stopped in `afterAll`. Declare it
 * before `useLocalHost` when the host's settings include `auth.settings` (hooks run in order).
 */
export function useDevTokens(): {
  readonly auth: DevAuth;
  readonly tokens: { operator: string; restorer: string; reader: string };
} {
  let auth: DevAuth | undefined;
  let tokens: { operator: string; restorer: string; reader: string } | undefined;
  const notYet = () =>
    new Error("Development auth is not running: use it inside tests or hooks, after beforeAll.");
  beforeAll(async () => {
    auth = await startDevAuth();
    tokens = {
      operator: await auth.mint("Backup.Operator"),
      restorer: await auth.mint("Backup.Restore"),
      reader: await auth.mint("Backup.Reader"),
    };
  });
  afterAll(() => auth?.stop());
  return {
    get auth() {
      if (!auth) throw notYet();
      return auth;
    },
    get tokens() {
      if (!tokens) throw notYet();
      return tokens;
    },
  };
}
