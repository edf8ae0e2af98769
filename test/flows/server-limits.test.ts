/**
 * Issue #14 limits 3 and 5 through the ARM emulator, with the app's own worker and sweep (the CLI, in
 * process): a server whose location PostgreSQL answers as a display name is protected with the region name
 * in every Data Protection body; a read replica and a server over 1 TB settle `Unsupported` with the reason
 * and the fix, without touching Data Protection; the sweep gives them their own class, outside compliance.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, trustEmulatorCertificate, type RunningEmulator } from "../../dev/emulator/index.js";
import { runCliCaptured } from "../support/cli.js";
import { armCall, assignEmulatorRole } from "../support/emulator.js";
import { addEmulatorVault } from "../support/emulatorVaults.js";

const SUB = "11111111-1111-4111-8111-111111111111";
const RG = "rg-data-canada";
const VAULT = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-canada`;
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const LTR = "c088a766-074b-43ba-90d4-1fb21feae531";
const serverId = (name: string) =>
  `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;

let emulator: RunningEmulator;
let env: Record<string, string>;

function arm(method: string, path: string, body?: unknown): Promise<unknown> {
  return armCall(emulator, method, path, body);
}

function grant(scope: string, role: string, principalId: string): Promise<void> {
  return assignEmulatorRole(emulator, SUB, scope, role, principalId);
}

beforeAll(async () => {
  const server = (name: string, extra: Record<string, unknown> = {}) => ({
    subscriptionId: SUB,
    resourceGroupName: RG,
    name,
    location: "Canada Central",
    tags: { backup: "weekly" },
    ...extra,
  });
  emulator = await startEmulator({
    port: 0,
    timeScale: 2000,
    seed: {
      subscriptions: [{ subscriptionId: SUB, displayName: "Production" }],
      servers: [
        server("ledger-db"),
        server("ledger-replica", {
          properties: {
            replicationRole: "AsyncReplica",
            replicaCapacity: 0,
            replica: { role: "AsyncReplica", capacity: 0, replicationState: "Active" },
          },
        }),
        server("archive-db", { storageSizeGB: 2048 }),
      ],
    },
  });
  trustEmulatorCertificate(emulator.caCert);
  const principalId = await addEmulatorVault(emulator, {
    subscriptionId: SUB,
    resourceGroupName: "rg-backup",
    name: "bv-canada",
    location: "canadacentral",
  });
  await grant(`/subscriptions/${SUB}/resourceGroups/${RG}`, READER, principalId);
  for (const name of ["ledger-db", "ledger-replica", "archive-db"])
    await grant(serverId(name), LTR, principalId);
  env = {
    AzureWebJobsStorage: "UseDevelopmentStorage=true",
    PGFLEX_ARM_ENDPOINT: emulator.url,
    PGFLEX_ARM_CREDENTIAL: "emulator",
    PGFLEX_SCOPES: SUB,
    PGFLEX_POLICY_MAP: "weekly=pgflex-weekly",
    PGFLEX_VAULT_MAP: `canadacentral=${VAULT}`,
    PGFLEX_TIME_SCALE: "2000",
    PGFLEX_AUTH_TENANT_ID: "33333333-3333-3333-3333-333333333333",
    PGFLEX_AUTH_AUDIENCE: "api://pgflex-autoprotect",
  };
});
afterAll(() => emulator?.stop());

async function cli(...argv: string[]) {
  return runCliCaptured(argv, { env, pollIntervalInMs: 20 });
}

/** Data Protection calls beyond the sweep's reads (the CLI resolves the server name with a dry-run sweep). */
async function dataProtectionWrites(): Promise<string[]> {
  return (await emulator.control.getRequests())
    .filter((r) => r.method !== "GET" && /^(BackupInstances|BackupPolicies)_/.test(r.operationName))
    .map((r) => r.operationName);
}

describe("servers whose location is a display name, and servers Azure Backup cannot protect", () => {
  it("protects a server located 'Canada Central' in the canadacentral vault, sending the region name", async () => {
    const res = await cli("protect", "ledger-db");
    expect(res.stdout).toBe("ledger-db: Protected (policy pgflex-weekly, vault bv-canada)\n");
    expect(res.code).toBe(0);
    const instance = (await arm("GET", `${VAULT}/backupInstances?api-version=2024-04-01`)) as {
      value: Array<{ properties: { dataSourceInfo: { resourceName: string; resourceLocation: string } } }>;
    };
    expect(instance.value.map((i) => i.properties.dataSourceInfo)).toEqual([
      expect.objectContaining({ resourceName: "ledger-db", resourceLocation: "canadacentral" }),
    ]);
  });

  it("settles a tagged read replica Unsupported with the reason and the fix, without asking Data Protection", async () => {
    await emulator.control.clearRequests();
    const res = await cli("--json", "protect", "ledger-replica");
    const body = JSON.parse(res.stdout) as {
      state: string;
      error: { code: string; message: string; fix: string };
    };
    expect(body.state).toBe("Unsupported");
    expect(body.error).toEqual({
      code: "ReadReplicaNotSupported",
      message:
        "ledger-replica is a read replica (replicationRole AsyncReplica); Azure Backup protects primary servers only.",
      fix: "Protect its primary server instead (tag the primary), and set its backup tag to none on the replica so nothing is owed.",
    });
    expect(res.code).toBe(4);
    expect(await dataProtectionWrites()).toEqual([]);
  });

  it("settles a tagged server over 1 TB Unsupported, saying its size and the limit", async () => {
    const res = await cli("--json", "protect", "archive-db");
    const body = JSON.parse(res.stdout) as {
      state: string;
      error: { code: string; message: string; fix: string };
    };
    expect(body.state).toBe("Unsupported");
    expect(body.error.code).toBe("ServerTooLargeForBackup");
    expect(body.error.message).toBe(
      "archive-db has 2048 GB of storage; Azure Backup protects servers up to 1 TB (1024 GB), and backups of larger servers fail.",
    );
  });

  it("classes both Unsupported in a sweep, neither owed nor counted in compliance, and protects nothing more", async () => {
    const res = await cli("--json", "servers");
    const rows = JSON.parse(res.stdout) as Array<{ serverId: string; class: string; reason: string }>;
    const classes = Object.fromEntries(rows.map((r) => [r.serverId.split("/").pop(), r.class]));
    expect(classes).toEqual({
      "ledger-db": expect.stringMatching(/^Protected/),
      "ledger-replica": "Unsupported",
      "archive-db": "Unsupported",
    });
    const sweep = await cli("--json", "sweep");
    const summary = JSON.parse(sweep.stdout) as {
      summary: { compliancePercent: number; counts: Record<string, number> };
      protected: unknown[];
    };
    expect(summary.summary.counts["Unsupported"]).toBe(2);
    // ledger-db alone counts: Protected (or stale in emulated time), never diluted by the two Unsupported.
    expect(summary.summary.compliancePercent).toBe(summary.summary.counts["Protected"] ? 100 : 0);
    expect(summary.protected).toEqual([]);
  });
});
