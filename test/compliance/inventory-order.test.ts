import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createArmInventory } from "../../src/lib/azure/inventory/armLists.js";
import type { ArmListReaders } from "../../src/lib/azure/inventory/types.js";
import { SUB_A, SUB_B, serverIdOf, vaultIdOf } from "../fixtures/compliance/estate.js";

/**
 * The order of the ARM inventory's reads: a vault's instance and job chains are the longest part of a
 * sweep, so they must not wait for unrelated listings. Orders are observed through events, never timed.
 */
/** Single-page listings that note, in order, when each one answered; `wait` answers a turn later. */
function eventRecorder() {
  const events: string[] = [];
  async function* once<T>(event: string, items: T[], wait = false) {
    if (wait) await nextTurn();
    events.push(event);
    yield items;
  }
  return { events, once };
}

describe("ARM inventory read order", () => {
  it("starts reading a vault's instances and jobs before the other subscriptions' vaults are listed", async () => {
    const vault = vaultIdOf("bv-weu");
    const { events, once } = eventRecorder();
    const readers: ArmListReaders = {
      listSubscriptions: () => once("subscriptions", []),
      listServers: (sub) => once(`servers ${sub}`, [{ id: serverIdOf("pg-1", sub) }], true),
      listVaults: (sub) =>
        sub === SUB_A
          ? once(`vaults ${sub}`, [{ id: vault, location: "westeurope" }])
          : once(`vaults ${sub}`, [], true),
      listBackupInstances: (v) => once(`instances ${v.split("/").pop()}`, []),
      listJobs: (v) => once(`jobs ${v.split("/").pop()}`, []),
      getServer: async () => undefined,
    };

    const snap = await createArmInventory(readers).collect({
      subscriptionIds: [SUB_A, SUB_B],
      vaultSubscriptionIds: [SUB_A, SUB_B],
    });

    expect(events.indexOf("instances bv-weu")).toBeLessThan(events.indexOf(`vaults ${SUB_B}`));
    expect(events.indexOf("jobs bv-weu")).toBeLessThan(events.indexOf(`vaults ${SUB_B}`));
    expect([...snap.completeVaultIds]).toEqual([vault]);
    expect(snap.vaultDiscoveryComplete).toBe(true);
    expect(snap.servers.map((s) => s.id).sort()).toEqual([
      serverIdOf("pg-1", SUB_A),
      serverIdOf("pg-1", SUB_B),
    ]);
  });

  it("reads a mapped vault before any subscription's vaults are listed, and once when discovery finds it too", async () => {
    const vault = vaultIdOf("bv-weu");
    const { events, once } = eventRecorder();
    const readers: ArmListReaders = {
      listSubscriptions: () => once("subscriptions", []),
      listServers: () => once("servers", []),
      listVaults: (sub) => once(`vaults ${sub}`, [{ id: vault, location: "westeurope" }], true),
      listBackupInstances: () => once("instances", []),
      listJobs: () => once("jobs", []),
      getServer: async () => undefined,
    };

    const v = await createArmInventory(readers).collectVaults!({
      subscriptionIds: [SUB_A],
      vaultSubscriptionIds: [SUB_A],
      vaultIds: [vault],
    });

    expect(events).toEqual(["instances", "jobs", `vaults ${SUB_A}`]);
    expect(v.vaults.map((x) => [x.id, x.location])).toEqual([[vault, "westeurope"]]);
    expect(v.armRequests).toBe(3);
  });
});
