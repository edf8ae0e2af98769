/**
 * The app's telemetry as a team queries it: the app over the ARM emulator and Azurite with an in-memory
 * OpenTelemetry exporter, through a protection, an on-demand backup and a sweep.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, resetApp, type App } from "../../src/lib/app.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { loadConfig } from "../../src/lib/config/index.js";
import { parseServerId } from "../../src/lib/domain/serverId.js";
import { silentLogger } from "../../src/lib/logger.js";
import {
  createProtectionMessage,
  type ProtectionMessage,
  type ProtectionQueue,
} from "../../src/lib/protection/queueMessages.js";
import { noTelemetry, useTelemetry } from "../../src/lib/telemetry/index.js";
import { useAzurite } from "../support/azurite.js";
import { emulatorAppSettings, useEmulator } from "../support/emulator.js";
import { addEmulatorVault } from "../support/emulatorVaults.js";
import { anInMemoryTelemetry, type InMemoryTelemetry } from "./inMemory.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const TIME_SCALE = 100;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const LTR = "c088a766-074b-43ba-90d4-1fb21feae531";
const VAULT = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-weu`;
/** How the metrics name the vault: resource ids in lower case. */
const VAULT_ATTRIBUTE = VAULT.toLowerCase();

const azurite = useAzurite();
const emulator = useEmulator(() => ({ timeScale: TIME_SCALE }));

async function assignRole(scope: string, roleGuid: string, principalId: string): Promise<void> {
  const url = new URL(
    `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
    emulator.url,
  );
  const res = await fetch(url, {
    method: "PUT",
    headers: { authorization: "Bearer emulator-token", "content-type": "application/json" },
    body: JSON.stringify({
      properties: {
        roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
        principalId,
        principalType: "ServicePrincipal",
      },
    }),
  });
  if (!res.ok) throw new Error(`role assignment: HTTP ${res.status} ${await res.text()}`);
}

/** The protection queue in memory: the test delivers each retry-later message itself. */
function aMemoryQueue(): ProtectionQueue & { sent: ProtectionMessage[] } {
  const sent: ProtectionMessage[] = [];
  return {
    sent,
    send: async (message) => {
      sent.push(message);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Delivers `message` and every retry-later message after it until the request settles. */
async function protectToTheEnd(app: App, queue: { sent: ProtectionMessage[] }, message: ProtectionMessage) {
  let next: ProtectionMessage | undefined = message;
  for (let i = 0; next && i < 100; i++) {
    const outcome = await app.protection.worker.process(next);
    if (outcome.kind !== "requeued") return outcome;
    await sleep(outcome.delayInMs);
    next = queue.sent.pop();
  }
  throw new Error("The protection did not settle in 100 deliveries.");
}

const sum = (points: Array<{ value: unknown }>) =>
  points.reduce(
    (n, p) => n + (typeof p.value === "number" ? p.value : ((p.value as { count: number }).count ?? 0)),
    0,
  );

describe("the app's telemetry", () => {
  let memory: InMemoryTelemetry;
  let app: App;
  let serverId: string;
  const queue = aMemoryQueue();

  beforeAll(async () => {
    const principalId = await addEmulatorVault(emulator, {
      subscriptionId: SUB,
      resourceGroupName: "rg-backup",
      name: "bv-weu",
      location: "westeurope",
    });
    await assignRole(`/subscriptions/${SUB}/resourceGroups/rg-app`, READER, principalId);
    await assignRole(`/subscriptions/${SUB}/resourceGroups/rg-app`, LTR, principalId);
    const server = await emulator.control.createServer({
      subscriptionId: SUB,
      resourceGroupName: "rg-app",
      name: "pg-observed",
      location: "westeurope",
      state: "Ready",
      tags: { backup: "weekly" },
      publishEvent: false,
    });
    serverId = server.id.toLowerCase();
    const config = loadConfig({
      ...emulatorAppSettings({
        storage: azurite.connectionString,
        emulatorUrl: emulator.url,
        subscriptionId: SUB,
        vault: VAULT,
        timeScale: TIME_SCALE,
      }),
      PGFLEX_MODE: "enforce",
      PGFLEX_AUTO_GRANT_ROLES: "false",
    });
    memory = anInMemoryTelemetry();
    app = await createApp(config, {
      clients: createArmClients(config, { tlsOptions: { ca: emulator.caCert } }),
      logger: silentLogger,
      telemetry: memory.telemetry,
      stores: { protectionQueue: queue },
    });
  });

  afterAll(() => {
    useTelemetry(noTelemetry);
    resetApp();
  });

  it("traces each protection step and records the time to Protected by subscription, region, vault and policy", async () => {
    const outcome = await protectToTheEnd(app, queue, createProtectionMessage(serverId, { kind: "api" }));

    expect(outcome).toMatchObject({ kind: "settled", state: "Protected" });
    const steps = memory.spans().map((s) => s.name);
    expect(steps).toContain("protection.read_server");
    expect(steps).toContain("protection.validate");
    expect(steps).toContain("protection.create_instance");
    expect(memory.spans().find((s) => s.name === "protection.create_instance")?.attributes).toMatchObject({
      server: serverId,
    });
    const protection = await memory.points("pgflex.protection.duration");
    expect(protection.map((p) => p.attributes)).toEqual([
      { subscription: SUB, region: "westeurope", vault: VAULT_ATTRIBUTE, policy: "pgflex-weekly" },
    ]);
    expect(sum(protection)).toBe(1);
    const writes = (await memory.points("pgflex.arm.requests")).filter(
      (p) => p.attributes.operation === "PUT Microsoft.DataProtection/backupVaults/backupInstances",
    );
    expect(writes.map((p) => [p.attributes.status_class, p.attributes.throttled, p.value])).toEqual([
      ["2xx", false, 1],
    ]);
  });

  it("counts a finished backup job once by outcome and origin, with its duration and the server's backup age", async () => {
    const ref = parseServerId(serverId);
    if (!ref) throw new Error(`${serverId} is not a server id`);
    await app.backups.service.start(ref, { origin: "api", force: true });
    let finished = 0;
    for (let i = 0; i < 120 && finished === 0; i++) {
      finished += (await app.jobs.poller.pollOnce()).finished;
      if (!finished) await sleep(250);
    }
    await app.jobs.poller.pollOnce(); // a later cycle does not count the job again

    const jobs = await memory.points("pgflex.backup.jobs");
    expect(jobs.map((p) => [p.attributes, p.value])).toEqual([
      [
        {
          outcome: "Completed",
          origin: "api",
          subscription: SUB,
          vault: VAULT_ATTRIBUTE,
          policy: "pgflex-weekly",
        },
        1,
      ],
    ]);
    const durations = await memory.points("pgflex.backup.job.duration");
    expect(durations.map((p) => [p.attributes, sum([p])])).toEqual([
      [{ outcome: "Completed", origin: "api" }, 1],
    ]);
    const ages = await memory.points("pgflex.backup.last_success.age");
    expect(ages.map((p) => p.attributes)).toEqual([
      {
        server: serverId,
        subscription: SUB,
        region: "westeurope",
        vault: VAULT_ATTRIBUTE,
        policy: "pgflex-weekly",
      },
    ]);
    expect(ages[0]?.value).toBeGreaterThanOrEqual(0);
  });

  it("reports the sweep's servers by state and class and its compliance percentage", async () => {
    const { summary } = await app.compliance.sweeper.runSweep({ cause: "test" });

    const servers = await memory.points("pgflex.servers");
    expect(servers.map((p) => [p.attributes, p.value])).toEqual([
      [
        {
          subscription: SUB,
          region: "westeurope",
          vault: VAULT_ATTRIBUTE,
          policy: "pgflex-weekly",
          state: "Protected",
          sweep_class: "Protected",
        },
        1,
      ],
    ]);
    expect(await memory.points("pgflex.compliance.percent")).toEqual([
      expect.objectContaining({ attributes: { scope: "all" }, value: summary.compliancePercent }),
    ]);
    expect(summary.compliancePercent).toBe(100);
  });
});
