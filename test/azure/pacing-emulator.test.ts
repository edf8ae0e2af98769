import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticTokenCredential } from "../../dev/emulator/index.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { aPgFlexPolicy, startWorld, sub, vaultName, vaultRg } from "../emulator/dataprotection/helpers.js";
import type { DpWorld } from "../emulator/dataprotection/helpers.js";

/** The emulator runs 10× faster, so ARM's 10 writes/s refill becomes 100/s of real time. */
const timeScale = 10;

describe("pacing against the emulator's ARM throttling", () => {
  let world: DpWorld;
  beforeAll(async () => {
    world = await startWorld({ timeScale });
  });
  afterAll(async () => world?.stop());

  it("gets 400 writes through with few 429s by waiting for its local write budget", async () => {
    const clients = createArmClients(
      { armEndpoint: world.emulator.url, armCredential: "emulator", azureClientId: undefined },
      {
        credential: staticTokenCredential(),
        tlsOptions: { ca: world.emulator.caCert },
        pacing: {
          writes: { burst: 200, perSecond: 10 * timeScale },
          reads: { burst: 250, perSecond: 25 * timeScale },
        },
      },
    );
    const total = 400;
    const dp = await clients.dataProtection(sub);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const n = next++;
        await dp.backupPolicies.createOrUpdate(vaultRg, vaultName, `p${n}`, aPgFlexPolicy());
      }
    };
    await Promise.all(Array.from({ length: 40 }, worker));

    const stats = clients.pacing.stats();
    expect(stats.sent - stats.throttled).toBe(total);
    expect(stats.throttled).toBeLessThanOrEqual(20);
    const counters = await world.emulator.control.getCounters();
    expect(counters.operations.BackupPolicies_CreateOrUpdate?.count).toBeGreaterThanOrEqual(total);
  });
});
