import type { SweepFailure } from "../../domain/compliance.js";
import {
  addMappedVaults,
  composeInventory,
  counter,
  enrich,
  vaultDetails,
  type Counter,
  type VaultDetails,
} from "./compose.js";
import { awaitedLater, createConcurrencyLimiter, mapWithConcurrency } from "../../util/concurrency.js";
import { toFailure, toInventoryInstance, toInventoryServer, toInventoryVault } from "./normalize.js";
import type {
  ArmListReaders,
  CollectInventoryOptions,
  InventoryInstance,
  InventoryOptions,
  InventoryScope,
  InventoryServer,
  InventorySource,
  InventoryVault,
  VaultInventory,
} from "./types.js";

/** The inventory from per-subscription and per-vault ARM list calls. */
export function createArmInventory(readers: ArmListReaders, options: InventoryOptions = {}): InventorySource {
  const concurrency = options.concurrency ?? 16;

  async function listServers(
    scope: InventoryScope,
    requests: Counter,
    failures: SweepFailure[],
    o: CollectInventoryOptions,
  ): Promise<{ servers: InventoryServer[]; completeSubscriptionIds: Set<string> }> {
    const servers: InventoryServer[] = [];
    const completeSubscriptionIds = new Set<string>();
    await mapWithConcurrency(scope.subscriptionIds, concurrency, async (sub) => {
      const mine: InventoryServer[] = [];
      try {
        for await (const page of readers.listServers(sub, o)) {
          requests.count();
          o.abortSignal?.throwIfAborted();
          for (const raw of page) {
            const s = toInventoryServer({ subscriptionId: sub, ...raw });
            if (s) mine.push(s);
          }
        }
        servers.push(...mine);
        completeSubscriptionIds.add(sub);
      } catch (e) {
        if (o.abortSignal?.aborted) throw e;
        servers.push(...mine);
        failures.push(toFailure("subscription", sub, e));
      }
    });
    return { servers, completeSubscriptionIds };
  }

  async function collectVaults(
    scope: InventoryScope,
    o: CollectInventoryOptions = {},
  ): Promise<VaultInventory> {
    const requests = counter();
    const failures: SweepFailure[] = [];
    const vaults = new Map<string, InventoryVault>();
    const instances: InventoryInstance[] = [];
    const completeVaultIds: string[] = [];
    const details = new Map<string, VaultDetails>();
    // A vault's instance and job lists are chains of nextLinks, the longest part of a sweep: each vault's
    // chains start as soon as the vault is known (mapped, or its subscription's page listed it), not after
    // every subscription's vaults were listed.
    const vaultReads = new Map<string, Promise<void>>();
    const readSlot = createConcurrencyLimiter(concurrency);
    const readVault = (vaultId: string): void => {
      if (vaultReads.has(vaultId)) return;
      const read = readSlot(async () => {
        const found: InventoryInstance[] = [];
        const [listed, d] = await Promise.all([
          (async () => {
            try {
              for await (const page of readers.listBackupInstances(vaultId, o)) {
                requests.count();
                o.abortSignal?.throwIfAborted();
                for (const raw of page) {
                  const i = toInventoryInstance(raw);
                  if (i) found.push(i);
                }
              }
              return true;
            } catch (e) {
              if (o.abortSignal?.aborted) throw e;
              failures.push(toFailure("vault", vaultId, e));
              return false;
            }
          })(),
          vaultDetails(readers, vaultId, requests.count, failures, o),
        ]);
        instances.push(...found);
        details.set(vaultId, d);
        if (listed) completeVaultIds.push(vaultId);
      });
      vaultReads.set(vaultId, awaitedLater(read)); // awaited after discovery
    };
    for (const id of scope.vaultIds ?? []) readVault(id);
    let vaultDiscoveryComplete = true;
    await mapWithConcurrency(scope.vaultSubscriptionIds, concurrency, async (sub) => {
      try {
        for await (const page of readers.listVaults(sub, o)) {
          requests.count();
          for (const raw of page) {
            const v = toInventoryVault(raw);
            if (!v) continue;
            vaults.set(v.id, v);
            readVault(v.id);
          }
        }
      } catch (e) {
        if (o.abortSignal?.aborted) throw e;
        vaultDiscoveryComplete = false;
        failures.push(toFailure("subscription", sub, e));
      }
    });
    addMappedVaults(vaults, scope);
    await Promise.all(vaultReads.values());
    enrich(instances, details);
    return {
      vaults: [...vaults.values()],
      instances,
      failures,
      completeVaultIds,
      vaultDiscoveryComplete,
      armRequests: requests.value,
    };
  }

  return composeInventory("arm", readers, listServers, collectVaults);
}
