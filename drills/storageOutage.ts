import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, startAzurite, type AzuriteHandle } from "../dev/azurite/index.js";
import { sleep } from "../bench/lib/app.js";
import type { Runnable } from "../bench/lib/types.js";
import { startWorld } from "../bench/lib/world.js";
import { mapWithConcurrency } from "../src/lib/util/concurrency.js";
import { checkEndState, endState, outcomeOf, waitQuiet } from "./lib/state.js";
import { startProxy, type Proxy } from "./lib/proxy.js";
import { scaledHostJson } from "./lib/scaledHostJson.js";

/**
 * Storage outage: Azurite (on disk, behind fixed-port proxies) is stopped mid-run while servers are being
 * created and protected, stays down, then restarts on the same data. Event deliveries fail meanwhile and
 * Event Grid retries them; workers fail and their messages come back. Work must resume and nothing be lost.
 */
export const storageOutage: Runnable = {
  name: "storage-outage",
  title: "Storage outage: Azurite stopped mid-run, then restarted",
  async run({ size, log }) {
    const serverCount = size === "tiny" ? 6 : 60;
    const outageInMs = size === "tiny" ? 2_000 : 30_000;
    const location = await mkdtemp(join(tmpdir(), "pgflex-outage-"));
    let azurite: AzuriteHandle = await startAzurite({ inMemory: false, location });
    const proxies: Record<"blob" | "queue" | "table", Proxy> = {
      blob: await startProxy(azurite.blobPort),
      queue: await startProxy(azurite.queuePort),
      table: await startProxy(azurite.tablePort),
    };
    const endpoint = (p: Proxy) => `http://127.0.0.1:${p.port}/${DEV_ACCOUNT_NAME}`;
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${DEV_ACCOUNT_KEY};` +
      `BlobEndpoint=${endpoint(proxies.blob)};QueueEndpoint=${endpoint(proxies.queue)};TableEndpoint=${endpoint(proxies.table)};`;
    const storage: AzuriteHandle = {
      connectionString,
      blobPort: proxies.blob.port,
      queuePort: proxies.queue.port,
      tablePort: proxies.table.port,
      blobEndpoint: endpoint(proxies.blob),
      queueEndpoint: endpoint(proxies.queue),
      tableEndpoint: endpoint(proxies.table),
      stop: async () => undefined,
    };
    // ×100: a 30 s outage is 50 emulated minutes, well inside Event Grid's 24 h retry budget.
    const timeScale = size === "tiny" ? 1000 : 100;
    const world = await startWorld({
      timeScale,
      storage,
      queuePollIntervalInMs: 50,
      hostJson: await scaledHostJson(timeScale),
    });
    try {
      const names = Array.from({ length: serverCount }, (_, i) => `pg-outage-${String(i).padStart(3, "0")}`);
      const half = Math.ceil(serverCount / 2);
      await mapWithConcurrency(names.slice(0, half), 8, async (name) => {
        await world.addServer(name, { tags: { backup: "weekly" }, publishEvent: true });
      });
      // Mid-run: the first half is being protected when storage goes away.
      await sleep(size === "tiny" ? 300 : 1_000);
      const downAt = performance.now();
      for (const p of Object.values(proxies)) p.retarget(undefined);
      for (const p of Object.values(proxies)) p.dropConnections();
      await azurite.stop();
      log("Azurite stopped");
      await mapWithConcurrency(names.slice(half), 8, async (name) => {
        await world.addServer(name, { tags: { backup: "weekly" }, publishEvent: true });
      });
      await sleep(Math.max(0, outageInMs - (performance.now() - downAt)));
      azurite = await startAzurite({ inMemory: false, location });
      proxies.blob.retarget(azurite.blobPort);
      proxies.queue.retarget(azurite.queuePort);
      proxies.table.retarget(azurite.tablePort);
      const upAt = performance.now();
      log(`Azurite restarted after ${Math.round((upAt - downAt) / 1000)} s`);
      // A message received just before the outage, whose invocation then failed on Storage, stays hidden for
      // the host's processing visibility (2 min with the scaled functionTimeout), so recovery may take that long.
      await waitQuiet(world, names, 240_000);
      // Event Grid may still hold retries of deliveries that failed during the outage: let them land, then
      // let their work settle too.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const deliveries = await world.emulator.control.getDeliveries();
        const pending = new Set(deliveries.filter((d) => !d.delivered).map((d) => d.eventId));
        for (const d of deliveries) if (d.delivered) pending.delete(d.eventId);
        if (pending.size === 0 || Date.now() > deadline) break;
        await sleep(100);
      }
      await waitQuiet(world, names, 240_000);
      const recoveryInMs = performance.now() - upAt;
      const state = await endState(world);
      const checks = checkEndState(state, names);
      const deliveries = await world.emulator.control.getDeliveries();
      const failedAttempts = deliveries.filter((d) => !d.delivered).length;
      return {
        outcome: outcomeOf(checks),
        checks,
        metrics: [
          { name: "Outage", value: Math.round((upAt - downAt) / 100) / 10, unit: "s" },
          {
            name: "Time from restart to every server settled",
            value: Math.round(recoveryInMs / 100) / 10,
            unit: "s",
          },
          {
            name: "Event Grid delivery attempts that failed (then retried)",
            value: failedAttempts,
            unit: "attempts",
          },
        ],
        parameters: {
          servers: serverCount,
          outageInMs,
          timeScale,
          createdDuringOutage: serverCount - half,
        },
        notes: [
          "Half of the servers are created before the outage and half during it; their events reach the webhook, which fails while Storage is down, so Event Grid retries.",
        ],
      };
    } finally {
      await world.stop();
      for (const p of Object.values(proxies)) await p.close();
      await azurite.stop();
      await rm(location, { recursive: true, force: true });
    }
  },
};
