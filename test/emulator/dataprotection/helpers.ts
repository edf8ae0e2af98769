import { startEmulator, staticTokenCredential } from "../../../dev/emulator/index.js";
import type { RunningEmulator, StartEmulatorOptions } from "../../../dev/emulator/index.js";
import { createDataProtectionProvider } from "../../../dev/emulator/providers/dataprotection/index.js";
import { createDataProtectionControl } from "../../../dev/emulator/providers/dataprotection/control.js";
import type { DataProtectionControl } from "../../../dev/emulator/providers/dataprotection/control.js";
import { ROLE_LTR_BACKUP, ROLE_READER } from "../../../dev/emulator/providers/dataprotection/state.js";
import { DataProtectionClient } from "../../../src/lib/azure/dataprotection/client.js";
import { pgFlexWeeklyPolicy } from "../../../src/lib/azure/dataprotection/policies.js";
import type {
  BackupInstanceResource,
  BaseBackupPolicyResource,
} from "../../../src/lib/azure/dataprotection/models.js";

export const sub = "11111111-1111-1111-1111-111111111111";
export const vaultRg = "rg-backup";
export const vaultName = "bv-weu";
export const serverRg = "rg-db";
export const vaultId = `/subscriptions/${sub}/resourceGroups/${vaultRg}/providers/Microsoft.DataProtection/backupVaults/${vaultName}`;
export const serverIdOf = (name: string, rg = serverRg): string =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
export const policyId = `${vaultId}/backupPolicies/pgflex-weekly`;
export const principalId = "aaaaaaaa-0000-4000-8000-000000000001";

export interface DpWorld {
  emulator: RunningEmulator;
  control: DataProtectionControl;
  client: DataProtectionClient;
  /** Adds a role assignment directly; `ageInMs` < the propagation delay makes it not yet effective. */
  grant(
    roleGuid: string,
    scope: string,
    options?: { principal?: string; notEffectiveForInMs?: number },
  ): void;
  /** Both roles the vault identity needs for `server`. */
  grantBoth(serverId: string): void;
  addServer(
    name: string,
    options?: { location?: string; state?: "Ready" | "Stopped" | "Provisioning" },
  ): Promise<string>;
  /**
   * Adds server `name` with both roles granted, protects it as instance `<name>-bi` and waits until the
   * instance is ProtectionConfigured; returns the server's id in lower case.
   */
  protectServer(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** An emulator with only this provider, time-scaled so a 12-minute backup job takes under a second. */
export async function startWorld(options: StartEmulatorOptions = {}): Promise<DpWorld> {
  const emulator = await startEmulator({
    timeScale: 2000,
    providers: [createDataProtectionProvider()],
    ...options,
  });
  const control = createDataProtectionControl(emulator.core.context);
  control.addVault({
    subscriptionId: sub,
    resourceGroupName: vaultRg,
    name: vaultName,
    location: "westeurope",
    principalId,
  });
  const client = new DataProtectionClient(staticTokenCredential(), sub, {
    endpoint: emulator.url,
    tlsOptions: { ca: emulator.caCert },
    credentialScopes: ["https://management.azure.com/.default"],
    updateIntervalInMs: 5,
  });
  let n = 0;
  const world: DpWorld = {
    emulator,
    control,
    client,
    grant(roleGuid, scope, opts = {}) {
      n += 1;
      const name = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
      const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
      emulator.core.state.roleAssignments.set(id.toLowerCase(), {
        id,
        name,
        scope,
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
        principalId: opts.principal ?? principalId,
        principalType: "ServicePrincipal",
        createdOn: new Date().toISOString(),
        effectiveFromMs: emulator.core.context.clock.now() + (opts.notEffectiveForInMs ?? 0),
      });
    },
    grantBoth(serverId) {
      world.grant(ROLE_LTR_BACKUP, serverId);
      world.grant(ROLE_READER, serverId.replace(/\/providers\/.*$/, ""));
    },
    async addServer(name, opts = {}) {
      const server = await emulator.control.createServer({
        subscriptionId: sub,
        resourceGroupName: serverRg,
        name,
        location: opts.location ?? "westeurope",
        state: opts.state ?? "Ready",
      });
      return server.id;
    },
    async protectServer(name) {
      const serverId = await world.addServer(name);
      world.grantBoth(serverId);
      const instanceName = `${name}-bi`;
      await client.backupInstances.beginCreateOrUpdateAndWait(
        vaultRg,
        vaultName,
        instanceName,
        anInstanceFor(serverId),
      );
      for (let i = 0; i < 400; i++) {
        const bi = await client.backupInstances.get(vaultRg, vaultName, instanceName);
        if (bi.properties?.protectionStatus?.status === "ProtectionConfigured") return serverId.toLowerCase();
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`${name} was not protected in time.`);
    },
    stop: () => emulator.stop(),
  };
  return world;
}

/** The weekly policy this app creates, kept 12 weeks. */
export function aPgFlexPolicy(): BaseBackupPolicyResource {
  return pgFlexWeeklyPolicy({ retention: "P12W" });
}

export function anInstanceFor(serverId: string, policy = policyId): BackupInstanceResource {
  const name = serverId.split("/").pop() ?? "";
  return {
    properties: {
      objectType: "BackupInstance",
      friendlyName: name,
      dataSourceInfo: {
        objectType: "Datasource",
        datasourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
        resourceID: serverId,
        resourceName: name,
        resourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
        resourceLocation: "westeurope",
        resourceUri: "",
      },
      policyInfo: { policyId: policy },
    },
  };
}
