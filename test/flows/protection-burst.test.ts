/**
 * A burst of tagged servers through the whole path (emulator events → local host → Azurite queue → worker →
 * emulator), checking the per-server ARM budget: exactly two writes and at most eight requests per server.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { emulatorAppSettings, useEmulator } from "../support/emulator.js";
import { useAzurite } from "../support/azurite.js";
import { addEmulatorVault } from "../support/emulatorVaults.js";
import { subscribeHostToEvents, useLocalHost, waitFor } from "../support/localHost.js";
import { createStorageConnection } from "../../src/lib/store/connection.js";
import { createServerStore } from "../../src/lib/store/servers.js";
import type { Config } from "../../src/lib/config/index.js";
import { resetApp } from "../../src/lib/app.js";

const SUB = "33333333-3333-3333-3333-333333333333";
const TIME_SCALE = 100;
const SERVERS = 60;
const VAULT = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-burst`;

const azurite = useAzurite();
const emulator = useEmulator(() => ({ timeScale: TIME_SCALE }));

beforeAll(async () => {
  const principalId = await addEmulatorVault(emulator, {
    subscriptionId: SUB,
    resourceGroupName: "rg-backup",
    name: "bv-burst",
    location: "westeurope",
  });
  // Roles at subscription scope: every server of the burst inherits them.
  for (const role of ["acdd72a7-3385-48ef-bd42-f606fba81ae7", "c088a766-074b-43ba-90d4-1fb21feae531"]) {
    await emulator.control.loadState(
      {
        roleAssignments: [{ scope: `/subscriptions/${SUB}`, roleDefinitionId: role, principalId }],
      },
      { merge: true },
    );
  }
  resetApp();
});

describe("a burst of tagged servers", () => {
  const host = useLocalHost(() => ({
    env: {
      ...emulatorAppSettings({
        storage: azurite.connectionString,
        emulatorUrl: emulator.url,
        subscriptionId: SUB,
        vault: VAULT,
        timeScale: TIME_SCALE,
      }),
    },
    visibilityTimeoutInMs: 0,
    queuePollIntervalInMs: 100,
  }));

  it("protects every server once with two writes and at most eight requests each", async () => {
    await subscribeHostToEvents(emulator, host, SUB);
    await emulator.control.clearRequests();

    await Promise.all(
      Array.from({ length: SERVERS }, (_, i) =>
        emulator.control.createServer({
          subscriptionId: SUB,
          resourceGroupName: "rg-burst",
          name: `pg-burst-${String(i).padStart(4, "0")}`,
          location: "westeurope",
          tags: { backup: "weekly" },
          publishEvent: true,
        }),
      ),
    );

    const store = createServerStore(
      createStorageConnection({ storageConnection: azurite.connectionString } as Config),
    );
    await waitFor(
      async () => {
        let done = 0;
        for await (const _ of store.list({ subscriptionId: SUB, state: "Protected" })) done++;
        return done === SERVERS ? done : undefined;
      },
      `${SERVERS} servers to be Protected`,
      { timeoutInMs: 120_000, intervalInMs: 500 },
    );
    await host.idle();

    const requests = await emulator.control.getRequests();
    const count = (name: string) => requests.filter((r) => r.operationName === name).length;
    expect(count("BackupInstances_CreateOrUpdate")).toBe(SERVERS);
    expect(count("BackupInstances_ValidateForBackup")).toBe(SERVERS);
    // Once for the whole burst: the vault read, the policy lookup and its creation.
    expect(count("BackupVaults_Get")).toBe(1);
    expect(count("BackupPolicies_CreateOrUpdate")).toBe(1);
    expect(requests.filter((r) => r.kind === "write")).toHaveLength(2 * SERVERS + 1);
    expect(requests.filter((r) => r.status === 429)).toEqual([]);
    expect(requests.length).toBeLessThanOrEqual(8 * SERVERS + 3);
  }, 180_000); // a hang guard above the wait for Protected (120 s): the burst shares two cores with other suites
});
