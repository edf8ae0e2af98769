/**
 * Auto-protection end to end: the ARM emulator publishes ARM events to the local Functions host, whose
 * Event Grid trigger enqueues on Azurite and whose queue worker protects servers against the emulator.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { armCall, assignEmulatorRole, useEmulator } from "../support/emulator.js";
import { useAzurite } from "../support/azurite.js";
import { addEmulatorVault } from "../support/emulatorVaults.js";
import { deliverEventGrid, subscribeHostToEvents, useLocalHost, waitFor } from "../support/localHost.js";
import { createStorageConnection } from "../../src/lib/store/connection.js";
import type { ProtectionState } from "../../src/lib/domain/protectionStates.js";
import { createServerStore, type ServerRecord } from "../../src/lib/store/servers.js";
import { createAuditLog } from "../../src/lib/store/audit.js";
import { ALERTS_TABLE } from "../../src/lib/store/alerts.js";
import type { Config } from "../../src/lib/config/index.js";
import { loadConfig } from "../../src/lib/config/index.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { createServersClient } from "../../src/lib/azure/servers.js";
import { createRolesClient } from "../../src/lib/azure/roles.js";
import {
  backupInstanceName,
  createProtectionMessage,
  createProtectionWorker,
  type ProtectionMessage,
  protectionSettingsFromConfig,
} from "../../src/lib/protection/index.js";
import { resetApp } from "../../src/lib/app.js";
import { createProtectionOperations } from "../../src/lib/azure/protectionOperations.js";
import { pgFlexWeeklyPolicy } from "../../src/lib/azure/dataprotection/policies.js";
import { anInstanceFor } from "../emulator/dataprotection/helpers.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const TIME_SCALE = 100;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const LTR = "c088a766-074b-43ba-90d4-1fb21feae531";
const vaultIdOf = (rg: string, name: string) =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.DataProtection/backupVaults/${name}`;
const VAULT = vaultIdOf("rg-backup", "bv-weu");

let principalId: string;

function arm(method: string, path: string, body?: unknown): Promise<unknown> {
  return armCall(emulator, method, path, body);
}

/** Adds a Backup vault in SUB and westeurope unless `options` say otherwise; returns its identity's principal id. */
function addVault(
  rg: string,
  name: string,
  options: { subscriptionId?: string; location?: string; tags?: Record<string, string> } = {},
): Promise<string> {
  const { subscriptionId = SUB, location = "westeurope", tags } = options;
  return addEmulatorVault(emulator, { subscriptionId, resourceGroupName: rg, name, location, tags });
}

function assignRole(scope: string, roleGuid: string, principal: string): Promise<void> {
  return assignEmulatorRole(emulator, SUB, scope, roleGuid, principal);
}

async function setTags(serverId: string, tags: Record<string, string>): Promise<void> {
  await arm("PUT", `${serverId}/providers/Microsoft.Resources/tags/default?api-version=2021-04-01`, {
    properties: { tags },
  });
}

async function createServer(
  name: string,
  options: {
    tags?: Record<string, string>;
    rg?: string;
    location?: string;
    state?: "Ready" | "Provisioning" | "Stopped";
    /** Announce the server with ResourceWriteSuccess (default true); false creates it unseen. */
    publishEvent?: boolean;
  } = {},
) {
  return emulator.control.createServer({
    subscriptionId: SUB,
    resourceGroupName: options.rg ?? "rg-app",
    name,
    location: options.location ?? "westeurope",
    state: options.state ?? "Ready",
    tags: options.tags ?? {},
    publishEvent: options.publishEvent ?? true,
  });
}

/** An instance made outside this app (portal, CLI). */
async function protectManually(
  vaultId: string,
  instanceName: string,
  serverId: string,
  policyId: string,
): Promise<void> {
  await arm("PUT", `${vaultId}/backupInstances/${instanceName}`, anInstanceFor(serverId, policyId));
}

async function instancesOf(serverId: string): Promise<Array<{ name: string }>> {
  const list = (await arm("GET", `${VAULT}/backupInstances`)) as {
    value: Array<{ name: string; properties: { dataSourceInfo: { resourceID: string } } }>;
  };
  return list.value.filter(
    (i) => i.properties.dataSourceInfo.resourceID.toLowerCase() === serverId.toLowerCase(),
  );
}

function hostEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    AzureWebJobsStorage: azurite.connectionString,
    PGFLEX_ARM_ENDPOINT: emulator.url,
    PGFLEX_ARM_CREDENTIAL: "emulator",
    PGFLEX_SCOPES: SUB,
    PGFLEX_VAULT_MAP: `westeurope=${VAULT}`,
    PGFLEX_POLICY_MAP: "weekly=pgflex-weekly,gold=pgflex-gold",
    PGFLEX_TIME_SCALE: String(TIME_SCALE),
    PGFLEX_MODE: "enforce",
    PGFLEX_AUTO_GRANT_ROLES: "false",
    PGFLEX_LOG_LEVEL: "debug",
    // 3 s at time scale 100: long enough for a few retries, short enough for a test.
    PGFLEX_TRANSIENT_RETRY_MINUTES: "5",
    ...extra,
  };
}

const azurite = useAzurite();
const emulator = useEmulator(() => ({ timeScale: TIME_SCALE }));

beforeAll(async () => {
  principalId = await addVault("rg-backup", "bv-weu");
  // The app's servers live in rg-app, where the vault identity has both roles; rg-norbac has none.
  await assignRole(`/subscriptions/${SUB}/resourceGroups/rg-app`, READER, principalId);
  await assignRole(`/subscriptions/${SUB}/resourceGroups/rg-app`, LTR, principalId);
  resetApp();
});

function connection() {
  return createStorageConnection({ storageConnection: azurite.connectionString } as Config);
}

function rows() {
  return createServerStore(connection());
}

function waitForState(id: string, state: ProtectionState, timeoutInMs = 30_000): Promise<ServerRecord> {
  return waitForRow(id, (row) => row.state === state, timeoutInMs, `to be ${state}`);
}

/** Waits until the row of server `id` is `done`; a timeout names what it waited for and the last row. */
async function waitForRow(
  id: string,
  done: (row: ServerRecord) => boolean,
  timeoutInMs = 30_000,
  what = "to change",
): Promise<ServerRecord> {
  const store = rows();
  let last: ServerRecord | undefined;
  try {
    return await waitFor(
      async () => {
        last = await store.get(id);
        return last && done(last) ? last : undefined;
      },
      `${id.split("/").pop()} ${what}`,
      { timeoutInMs, intervalInMs: 100 },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message} Last row: ${JSON.stringify(last)}`, { cause: e });
  }
}

/** A local host for one describe block, its queue worker polling every 100 ms, with `extra` settings. */
function useFlowHost(extra: Record<string, string> = {}) {
  return useLocalHost(() => ({ env: hostEnv(extra), visibilityTimeoutInMs: 0, queuePollIntervalInMs: 100 }));
}

async function removeEventSubscribers(): Promise<void> {
  for (const s of await emulator.control.listEventSubscribers())
    await emulator.control.removeEventSubscriber(s.id);
}

async function subscribe(
  host: { url: string; eventGridKey: string },
  schema: "EventGridSchema" | "CloudEventSchemaV1_0",
) {
  return subscribeHostToEvents(emulator, host, SUB, schema);
}

describe("auto-protection in enforce mode", () => {
  const host = useFlowHost();
  beforeAll(async () => {
    await subscribe(host, "EventGridSchema");
  });
  afterAll(async () => {
    await removeEventSubscribers();
  });

  it("logs and drops events that are not for a flexible server, or malformed, without enqueueing", async () => {
    const foreign = {
      id: "foreign-1",
      topic: `/subscriptions/${SUB}`,
      subject: `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/stapp`,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      eventTime: new Date().toISOString(),
      dataVersion: "2",
      metadataVersion: "1",
      data: {
        operationName: "Microsoft.Storage/storageAccounts/write",
        status: "Succeeded",
        subscriptionId: SUB,
      },
    };
    const badSubject = {
      ...foreign,
      id: "bad-1",
      subject: `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.DBforPostgreSQL/flexibleServers/Bad_Name`,
      data: {
        operationName: "Microsoft.DBforPostgreSQL/flexibleServers/write",
        status: "Succeeded",
        subscriptionId: SUB,
      },
    };
    const outOfScope = {
      ...badSubject,
      id: "scope-1",
      subject: `/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-x`,
      data: { ...badSubject.data, subscriptionId: "22222222-2222-2222-2222-222222222222" },
    };

    const answer = await deliverEventGrid(host, "onResourceEvent", [foreign, badSubject, outOfScope]);

    expect(answer.status).toBe(200);
    await host.idle();
    expect(host.log.filter((l) => l.includes("Ignored event"))).toEqual([
      'debug: [onResourceEvent] Ignored event foreign-1: operation "Microsoft.Storage/storageAccounts/write" is not handled.',
      `warn: [onResourceEvent] Ignored event bad-1: subject "${badSubject.subject}" is not a flexible server id.`,
      "info: [onResourceEvent] Ignored event scope-1: subscription 22222222-2222-2222-2222-222222222222 is outside the configured scope.",
    ]);
    expect(host.log.some((l) => l.includes("protection requested"))).toBe(false);
  });

  it("protects a server created with the tag", async () => {
    const server = await createServer("pg-created", { tags: { backup: "weekly" } });

    const row = await waitForState(server.id, "Protected");

    expect(row).toMatchObject({
      policyName: "pgflex-weekly",
      vaultId: VAULT,
      instanceName: backupInstanceName(server.id),
    });
    expect(await instancesOf(server.id)).toEqual([
      expect.objectContaining({ name: backupInstanceName(server.id) }),
    ]);
  });

  it("protects a newly tagged server with two ARM writes and at most eight requests", async () => {
    await emulator.control.clearRequests();
    const server = await createServer("pg-counted", { tags: { backup: "weekly" } });
    await waitForState(server.id, "Protected");

    const requests = await emulator.control.getRequests();
    const writes = requests.filter((r) => r.kind === "write").map((r) => r.operationName);
    expect(writes).toEqual(["BackupInstances_ValidateForBackup", "BackupInstances_CreateOrUpdate"]);
    expect(requests.length).toBeLessThanOrEqual(8);
    // The validation's status resource says it passed: its job reference (the Location) is never read.
    expect(requests.filter((r) => r.path.includes("/operationResults/"))).toEqual([]);
  });

  it("protects a server when the tag is added later, and keeps protection when it is removed", async () => {
    const server = await createServer("pg-later");
    await waitForState(server.id, "OptedOut");

    await setTags(server.id, { backup: "weekly" });
    await waitForState(server.id, "Protected");

    await setTags(server.id, {});
    const row = await waitForState(server.id, "ProtectedUntagged");
    expect(row.lastErrorMessage).toBe(
      'The "backup" tag was removed or opts out; protection continues: this product never stops protection or deletes backups.',
    );
    expect(await instancesOf(server.id)).toHaveLength(1);
  });

  it("records an opt-out without touching Azure", async () => {
    await emulator.control.clearRequests();
    const server = await createServer("pg-optout", { tags: { backup: "none" } });

    await waitForState(server.id, "OptedOut");

    expect((await emulator.control.getRequests()).filter((r) => r.kind === "write")).toEqual([]);
  });

  it("waits for a server that is not Ready and protects it once it is", async () => {
    const server = await createServer("pg-provisioning", {
      tags: { backup: "weekly" },
      state: "Provisioning",
    });
    const waiting = await waitForState(server.id, "WaitingForServer");
    expect(waiting.lastErrorMessage).toBe("Waiting for the server to be Ready (state: Provisioning).");

    await emulator.control.setServerState(server.id, "Ready");

    await waitForState(server.id, "Protected");
  });

  it("parks a stopped server without a deadline and protects it when its start event arrives", async () => {
    const server = await createServer("pg-stopped", { tags: { backup: "weekly" }, state: "Stopped" });
    const parked = await waitForState(server.id, "WaitingForServer");
    await host.idle();

    expect(parked).toMatchObject({
      lastErrorCode: "ServerStopped",
      lastErrorMessage:
        "The server is stopped, and Azure Backup takes no backups of a stopped server. Protection waits, without a deadline, until it starts (Azure starts a stopped server by itself after seven days): the start event or the next sweep resumes it.",
      fix: `To protect it now, start it: az postgres flexible-server start --ids ${server.id.toLowerCase()}`,
    });
    // Parked: no lease, no deadline, no message coming back for it.
    const still = await rows().get(server.id);
    expect(still).toMatchObject({ state: "WaitingForServer", lastErrorCode: "ServerStopped" });
    expect(still?.leaseOwner).toBeUndefined();
    expect(still?.waitingSince).toBeUndefined();

    await arm("POST", `${server.id}/start?api-version=2025-08-01`);

    await waitForState(server.id, "Protected");
    expect(
      host.log.some((l) => l.includes(`(start) for ${server.id.toLowerCase()}: protection requested`)),
    ).toBe(true);
  });

  it("names the missing roles and the commands when it may not grant them", async () => {
    const server = await createServer("pg-norbac", { tags: { backup: "weekly" }, rg: "rg-norbac" });

    const row = await waitForState(server.id, "MissingPermissions");

    const id = server.id.toLowerCase();
    const rg = `/subscriptions/${SUB}/resourcegroups/rg-norbac`;
    expect(row.fix).toBe(
      `az role assignment create --assignee-object-id ${principalId} --assignee-principal-type ServicePrincipal --role "Reader" --scope ${rg}\n` +
        `az role assignment create --assignee-object-id ${principalId} --assignee-principal-type ServicePrincipal --role "PostgreSQL Flexible Server Long Term Retention Backup Role" --scope ${id}\n` +
        "(or set PGFLEX_AUTO_GRANT_ROLES=true to let this app grant them)",
    );
    expect(await instancesOf(server.id)).toEqual([]);
    // The alert follows the row's settling write, so on a busy machine it can trail the state by a moment.
    await vi.waitFor(
      async () => {
        const alerts = [];
        for await (const a of connection()
          .tableClient(ALERTS_TABLE)
          .listEntities<{ serverId: string; title: string; recommendedAction: string }>({
            queryOptions: { filter: "PartitionKey eq 'ProtectionFailed'" },
          }))
          if (a.serverId === id) alerts.push([a.title, a.recommendedAction]);
        expect(alerts).toEqual([["pg-norbac is not protected: MissingPermissions", row.fix]]);
      },
      { timeout: 20_000, interval: 200 },
    );
  });

  it("says which region has no vault", async () => {
    const server = await createServer("pg-japan", { tags: { backup: "weekly" }, location: "japaneast" });

    const row = await waitForState(server.id, "NoVaultForRegion");

    expect(row.lastErrorMessage).toBe('No Backup vault serves region "japaneast".');
  });

  it("records a server already protected by another vault as ProtectedElsewhere", async () => {
    const other = await addVault("rg-backup", "bv-other");
    await assignRole(`/subscriptions/${SUB}/resourceGroups/rg-app`, READER, other);
    await assignRole(`/subscriptions/${SUB}/resourceGroups/rg-app`, LTR, other);
    const server = await createServer("pg-elsewhere", { publishEvent: false });
    const otherVault = vaultIdOf("rg-backup", "bv-other");
    await arm("PUT", `${otherVault}/backupPolicies/p1`, pgFlexWeeklyPolicy({ retention: "P4W" }));
    await protectManually(otherVault, "manual-1", server.id, `${otherVault}/backupPolicies/p1`);

    await setTags(server.id, { backup: "weekly" });

    const row = await waitForState(server.id, "ProtectedElsewhere");
    expect(row.lastErrorCode).toBe("UserErrorDppDatasourceAlreadyProtected");
    expect(await instancesOf(server.id)).toEqual([]);
  });

  it("records a server already protected here by another instance as Protected, without a second one", async () => {
    const server = await createServer("pg-here", { publishEvent: false });
    await protectManually(VAULT, "manual-here", server.id, `${VAULT}/backupPolicies/pgflex-weekly`);

    await setTags(server.id, { backup: "weekly" });

    const row = await waitForState(server.id, "Protected");
    expect(row.lastErrorCode).toBe("ProtectedByAnotherInstance");
    expect(await instancesOf(server.id)).toEqual([expect.objectContaining({ name: "manual-here" })]);
  });

  it("moves the instance to the policy a changed tag maps to, with one PUT of the same instance", async () => {
    const server = await createServer("pg-regold", { tags: { backup: "weekly" } });
    await waitForState(server.id, "Protected");
    const name = backupInstanceName(server.id);
    await emulator.control.clearRequests();

    await setTags(server.id, { backup: "gold" });
    const row = await waitForRow(server.id, (r) => r.state === "Protected" && r.policyName === "pgflex-gold");

    expect(row).toMatchObject({ tagValue: "gold", vaultId: VAULT, instanceName: name });
    expect(row.lastErrorCode).toBeUndefined();
    const instance = (await arm("GET", `${VAULT}/backupInstances/${name}`)) as {
      properties: { policyInfo: { policyId: string }; currentProtectionState: string };
    };
    expect(instance.properties.policyInfo.policyId.toLowerCase()).toBe(
      `${VAULT}/backupPolicies/pgflex-gold`.toLowerCase(),
    );
    expect(instance.properties.currentProtectionState).toBe("ProtectionConfigured");
    expect(await instancesOf(server.id)).toHaveLength(1);
    const backupWrites = (await emulator.control.getRequests())
      .filter((r) => r.kind === "write" && r.operationName.startsWith("BackupInstances_"))
      .map((r) => r.operationName);
    expect(backupWrites).toEqual(["BackupInstances_CreateOrUpdate"]);
    const audit: string[] = [];
    for await (const e of createAuditLog(connection()).list())
      if (e.serverId === server.id.toLowerCase() && e.action === "changeBackupInstancePolicy")
        audit.push(`${e.target.toLowerCase()} ${e.detail}`);
    expect(audit).toEqual([
      `${VAULT.toLowerCase()}/backupinstances/${name} policy pgflex-weekly -> pgflex-gold`,
    ]);
  });

  it("undeletes its own soft-deleted instance instead of creating one, and resumes its protection", async () => {
    const server = await createServer("pg-softdel", { tags: { backup: "weekly" } });
    const protectedRow = await waitForState(server.id, "Protected");
    const name = backupInstanceName(server.id);
    await arm("POST", `${VAULT}/backupInstances/${name}/backup`, {
      backupRuleOptions: { ruleName: "BackupWeekly", triggerOption: {} },
      objectType: "TriggerBackupRequest",
    });
    // Someone deletes the instance; the vault's soft delete keeps it, and its name, for 14 days.
    await arm("DELETE", `${VAULT}/backupInstances/${name}`);
    await waitFor(
      async () => (await instancesOf(server.id)).length === 0 || undefined,
      "the instance to be soft-deleted",
      { timeoutInMs: 10_000, intervalInMs: 50 },
    );
    await emulator.control.clearRequests();

    await setTags(server.id, { backup: "weekly", owner: "team-a" });
    const row = await waitForRow(
      server.id,
      (r) => r.state === "Protected" && r.updatedAt > protectedRow.updatedAt,
      30_000,
      "to be Protected again",
    );

    expect(row).toMatchObject({ vaultId: VAULT, instanceName: name, policyName: "pgflex-weekly" });
    expect(row.lastErrorCode).toBeUndefined();
    const instance = (await arm("GET", `${VAULT}/backupInstances/${name}`)) as {
      properties: { currentProtectionState: string };
    };
    expect(instance.properties.currentProtectionState).toBe("ProtectionConfigured");
    const writes = (await emulator.control.getRequests())
      .filter((r) => r.kind === "write")
      .map((r) => r.operationName);
    expect(writes).toEqual([
      "Tags_CreateOrUpdateAtScope",
      "BackupInstances_ValidateForBackup",
      "DeletedBackupInstances_Undelete",
      "BackupInstances_ResumeProtection",
    ]);
    // The recovery points stay with the undeleted instance: its backup job is still listed under it.
    const jobs = (await arm("GET", `${VAULT}/backupJobs`)) as {
      value: Array<{ properties: { backupInstanceId: string; isUserTriggered: boolean } }>;
    };
    expect(
      jobs.value.filter(
        (j) =>
          j.properties.isUserTriggered && j.properties.backupInstanceId.toLowerCase().endsWith(`/${name}`),
      ),
    ).toHaveLength(1);
    const audit: string[] = [];
    for await (const e of createAuditLog(connection()).list())
      if (e.serverId === server.id.toLowerCase() && e.action !== "stateChange") audit.push(e.action);
    expect(audit.sort()).toEqual(["createBackupInstance", "resumeProtection", "undeleteBackupInstance"]);
  });

  it("shows a failing Azure step on the row while retrying, then a visible Failed row at the deadline", async () => {
    await emulator.control.setFaults({
      rules: [{ operation: "BackupInstances_ValidateForBackup", errorRate500: 1 }],
    });
    try {
      const server = await createServer("pg-poison", { tags: { backup: "weekly" } });

      const retrying = await waitForRow(server.id, (r) => /^Retrying in /.test(r.lastErrorMessage ?? ""));
      const row = await waitForState(server.id, "Failed");

      expect(retrying.fix).toMatch(/^Nothing yet: the app keeps retrying for up to \d+ s more\. /);
      expect(row.lastErrorMessage).toMatch(/^Gave up after 6 attempts over \d+ s: /);
      expect(row.leaseOwner).toBeUndefined();
      expect(await instancesOf(server.id)).toEqual([]);
    } finally {
      await emulator.control.clearFaults();
    }
  });

  it("creates exactly one instance from 50 duplicate deliveries handled by concurrent workers", async () => {
    const server = await createServer("pg-dup", { tags: { backup: "weekly" }, publishEvent: false });
    const event = {
      id: randomUUID(),
      topic: `/subscriptions/${SUB}`,
      subject: server.id,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      eventTime: new Date().toISOString(),
      dataVersion: "2",
      metadataVersion: "1",
      data: {
        operationName: "Microsoft.DBforPostgreSQL/flexibleServers/write",
        resourceUri: server.id,
        status: "Succeeded",
        subscriptionId: SUB,
      },
    };

    const answers = await Promise.all(
      Array.from({ length: 50 }, () => deliverEventGrid(host, "onResourceEvent", [event])),
    );
    expect(answers.map((a) => a.status).every((s) => s === 200)).toBe(true);

    await waitForState(server.id, "Protected");
    await host.idle();
    expect(await instancesOf(server.id)).toHaveLength(1);
    const audit = createAuditLog(connection());
    const creates: string[] = [];
    for await (const e of audit.list())
      if (e.action === "createBackupInstance" && e.serverId === server.id.toLowerCase())
        creates.push(e.cause);
    expect(creates).toEqual([`event:${event.id}`]);
  });
});

describe("auto-protection with auto-grant", () => {
  const host = useFlowHost({ PGFLEX_AUTO_GRANT_ROLES: "true" });
  beforeAll(async () => {
    resetApp();
    await subscribe(host, "CloudEventSchemaV1_0");
  });
  afterAll(async () => {
    await removeEventSubscribers();
  });

  it("grants the vault identity its roles and protects the server", async () => {
    const server = await createServer("pg-autogrant", { tags: { backup: "weekly" }, rg: "rg-grant" });

    await waitForState(server.id, "Protected");

    const assignments = (await arm(
      "GET",
      `${server.id}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=${encodeURIComponent(`principalId eq '${principalId}'`)}`,
    )) as { value: Array<{ properties: { roleDefinitionId: string } }> };
    const roles = assignments.value.map((a) => a.properties.roleDefinitionId.split("/").pop()).sort();
    expect(roles).toEqual([READER, LTR].sort());
  });
});

describe("auto-protection in report mode", () => {
  const host = useFlowHost({ PGFLEX_MODE: "report" });
  beforeAll(async () => {
    resetApp();
    await subscribe(host, "EventGridSchema");
  });

  it("records WouldProtect and changes nothing in Azure", async () => {
    await emulator.control.clearRequests();
    const server = await createServer("pg-report", { tags: { backup: "gold" }, rg: "rg-report" });

    const row = await waitForState(server.id, "WouldProtect");

    expect(row.lastErrorMessage).toBe(
      `Would protect with policy "pgflex-gold" in Backup vault "bv-weu" as instance "${backupInstanceName(server.id)}".`,
    );
    const requests = await emulator.control.getRequests();
    expect(requests.filter((r) => r.kind === "write")).toEqual([]);
    expect(await instancesOf(server.id)).toEqual([]);
  });
});

describe("a worker killed between validate and create", () => {
  it("resumes cleanly and leaves exactly one instance", async () => {
    const config = loadConfig(hostEnv());
    const clients = createArmClients(config);
    const connection = createStorageConnection(config);
    const dataProtection = createProtectionOperations(clients);
    const sent: ProtectionMessage[] = [];
    let killed = false;
    const make = () =>
      createProtectionWorker({
        servers: createServerStore(connection),
        audit: createAuditLog(connection),
        queue: { send: async (m) => void sent.push(m) },
        arm: {
          servers: createServersClient(clients),
          roles: createRolesClient(clients),
          dataProtection: {
            ...dataProtection,
            createBackupInstance: async (...args) => {
              if (!killed) {
                killed = true;
                throw new Error("worker process killed");
              }
              return dataProtection.createBackupInstance(...args);
            },
          },
        },
        settings: protectionSettingsFromConfig(config),
      });
    const server = await createServer("pg-crash", { tags: { backup: "weekly" }, publishEvent: false });
    const first = make();
    let outcome = await first.process(
      createProtectionMessage(server.id, { kind: "event", eventId: "crash-1" }),
    );
    // Check back on the validation (the queue's visibility delay) until the worker gets to the PUT and dies.
    let message: ProtectionMessage | undefined;
    await expect(
      (async () => {
        while (outcome.kind === "requeued") {
          await new Promise((r) => setTimeout(r, outcome.kind === "requeued" ? outcome.delayInMs : 0));
          message = sent.shift();
          outcome = await first.process(message!, { dequeueCount: 1 });
        }
      })(),
    ).rejects.toThrow("worker process killed");
    expect((await rows().get(server.id))?.state).toBe("Validating");

    // A fresh process (new caches) gets the same message again.
    const second = make();
    outcome = await second.process(message!, { dequeueCount: 2 });
    while (outcome.kind === "requeued") {
      await new Promise((r) => setTimeout(r, outcome.kind === "requeued" ? outcome.delayInMs : 0));
      outcome = await second.process(sent.shift()!);
    }

    expect(outcome).toEqual({ kind: "settled", state: "Protected" });
    expect(await instancesOf(server.id)).toHaveLength(1);
  });
});

describe("auto-protection with a marked vault in a central backup subscription", () => {
  const CENTRAL = "55555555-5555-5555-5555-555555555555";
  const CENTRAL_VAULT = `/subscriptions/${CENTRAL}/resourceGroups/rg-central/providers/Microsoft.DataProtection/backupVaults/bv-central-neu`;
  const host = useFlowHost({ PGFLEX_VAULT_MAP: "", PGFLEX_SCOPES: `${SUB},${CENTRAL}` });
  beforeAll(async () => {
    resetApp();
    await removeEventSubscribers();
    const central = await addVault("rg-central", "bv-central-neu", {
      subscriptionId: CENTRAL,
      location: "northeurope",
      tags: { "pgflex-autoprotect": "" },
    });
    await assignRole(`/subscriptions/${SUB}/resourceGroups/rg-app`, READER, central);
    await assignRole(`/subscriptions/${SUB}/resourceGroups/rg-app`, LTR, central);
    await arm(
      "PUT",
      `${CENTRAL_VAULT}/backupPolicies/pgflex-weekly`,
      pgFlexWeeklyPolicy({ retention: "P12W" }),
    );
    await subscribe(host, "EventGridSchema");
  });
  afterAll(async () => {
    await removeEventSubscribers();
  });

  it("protects servers in their region's vault found in another subscription in scope, listing vaults once", async () => {
    const first = await createServer("pg-central-1", { tags: { backup: "weekly" }, location: "northeurope" });
    expect((await waitForState(first.id, "Protected")).vaultId?.toLowerCase()).toBe(
      CENTRAL_VAULT.toLowerCase(),
    );
    await emulator.control.clearRequests();

    const server = await createServer("pg-central-2", {
      tags: { backup: "weekly" },
      location: "northeurope",
    });
    const row = await waitForState(server.id, "Protected");

    // The vault lists are cached: the second server costs what a mapped vault costs.
    const requests = await emulator.control.getRequests();
    expect(requests.filter((r) => r.kind === "write").map((r) => r.operationName)).toEqual([
      "BackupInstances_ValidateForBackup",
      "BackupInstances_CreateOrUpdate",
    ]);
    expect(requests.length).toBeLessThanOrEqual(8);
    expect(requests.filter((r) => r.operationName === "BackupVaults_GetInSubscription")).toEqual([]);
    expect(row.vaultId?.toLowerCase()).toBe(CENTRAL_VAULT.toLowerCase());
    const list = (await arm("GET", `${CENTRAL_VAULT}/backupInstances`)) as {
      value: Array<{ name: string }>;
    };
    expect(list.value.map((i) => i.name).sort()).toEqual(
      [backupInstanceName(first.id), backupInstanceName(server.id)].sort(),
    );
  });
});
