import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "../../bench/lib/world.js";
import { checkEndState, endState, waitQuiet } from "../../drills/lib/state.js";

/**
 * Several local hosts (separate processes) on one Azurite and one emulator, as Azure runs several instances
 * of the app on one storage account: Event Grid deliveries are spread over them, they compete for the same
 * queue, and still every server is protected exactly once.
 */
describe("local hosts as several processes", () => {
  const names = Array.from({ length: 10 }, (_, i) => `pg-hosts-${String(i).padStart(2, "0")}`);
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ timeScale: 1000, hosts: 2, queuePollIntervalInMs: 50 });
  }, 120_000);
  afterAll(async () => world?.stop(), 60_000);

  it("spreads the burst over both processes and protects every server once", async () => {
    const hosts = world.hosts;
    expect(hosts, "world.hosts with hosts: 2").toBeDefined();
    if (!hosts) return;
    expect(world.host).toBeUndefined();
    expect(new Set(hosts.instances.map((i) => i.pid)).size).toBe(2);
    for (const name of names) await world.addServer(name, { tags: { backup: "weekly" }, publishEvent: true });
    await waitQuiet(world, names, 90_000);

    const broken = checkEndState(await endState(world), names).filter((c) => !c.passed);
    expect(broken).toEqual([]);
    const took = hosts.instances.map((i) => i.invocations);
    // Event Grid's deliveries reach both processes through the front end; each ran the app's event handler.
    for (const invocations of took)
      expect(invocations.onResourceEvent ?? 0, JSON.stringify(took)).toBeGreaterThan(0);
    // The queue's messages were each taken by one process or the other (retries aside): none was lost.
    const protects = took.reduce((n, i) => n + (i.protectServer ?? 0), 0);
    expect(protects, JSON.stringify(took)).toBeGreaterThanOrEqual(names.length);
  }, 150_000);

  it("routes around a killed instance and serves again after its restart", async () => {
    const hosts = world.hosts;
    if (!hosts) throw new Error("no hosts");
    const [first] = hosts.instances;
    if (!first) throw new Error("no instance");
    const before = first.pid;
    await first.kill("SIGKILL");
    expect(first.running).toBe(false);
    const health = () =>
      fetch(`${hosts.url}/api/health`, { headers: { "x-functions-key": hosts.keys.functionKey } });
    // Every request lands on the live instance while the other is down.
    for (let i = 0; i < 4; i++) expect((await health()).status).toBe(200);
    await first.restart();
    expect(first.running).toBe(true);
    expect(first.pid).not.toBe(before);
    const served = hosts.forwarded()[0] ?? 0;
    for (let i = 0; i < 4; i++) expect((await health()).status).toBe(200);
    expect(hosts.forwarded()[0]).toBeGreaterThan(served);
  }, 120_000);
});
