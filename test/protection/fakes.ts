/** Fakes at the worker's ports: an in-memory Azure that counts requests, and queue/store/audit doubles. */
import { RestError } from "@azure/core-rest-pipeline";
import type {
  BackupInstanceInfo,
  BackupInstanceProperties,
  DataProtectionPort,
  FlexibleServerInfo,
  ProtectionMessage,
  ProtectionQueue,
  ProtectionSettings,
  RoleAssignmentInfo,
  RolesPort,
  ServersPort,
  VaultInfo,
} from "../../src/lib/protection/index.js";
import { defaultProtectionSettings } from "../../src/lib/protection/index.js";
import type { SendMessageOptions } from "../../src/lib/store/queues.js";

export const SUB = "11111111-1111-1111-1111-111111111111";
export const OTHER_SUB = "99999999-9999-9999-9999-999999999999";
export const PRINCIPAL = "44444444-4444-4444-4444-444444444444";
export const VAULT_ID = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-weu`;

/** The id of policy `name` in the test vault. */
export function policyIdOf(name: string): string {
  return `${VAULT_ID}/backupPolicies/${name}`;
}

export function serverId(name: string, rg = "rg-app", sub = SUB): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
}

export function aServer(overrides: Partial<FlexibleServerInfo> & { name: string }): FlexibleServerInfo {
  return {
    id: serverId(overrides.name),
    location: "West Europe",
    state: "Ready",
    tags: { backup: "weekly" },
    ...overrides,
  };
}

export function anArmError(statusCode: number, code: string, message = code): RestError {
  return new RestError(message, { statusCode, code });
}

export interface Call {
  op: string;
  target: string;
  write: boolean;
}

/** An in-memory Azure: servers, one vault, policies, role assignments, backup instances. */
export class FakeAzure {
  servers = new Map<string, FlexibleServerInfo>();
  vaults: VaultInfo[] = [
    {
      id: VAULT_ID,
      name: "bv-weu",
      location: "westeurope",
      principalId: PRINCIPAL,
      tags: { "pgflex-autoprotect": "" },
    },
  ];
  policies = new Set<string>([policyIdOf("pgflex-weekly").toLowerCase()]);
  roles: RoleAssignmentInfo[] = [];
  instances = new Map<string, BackupInstanceInfo>();
  calls: Call[] = [];
  /** Soft-deleted instances by name (`deletedBackupInstances`). */
  deleted = new Map<string, BackupInstanceInfo>();
  /** Datasource ids protected by some other vault. */
  protectedElsewhere = new Set<string>();
  /** Status reads of a validation that still answer InProgress. */
  validatePollsBeforeDone = 0;
  /** Grants answer 403 when false. */
  mayGrant = true;
  /** Reads of an instance still answer ConfiguringProtection this many times after the PUT. */
  configuringReads = 0;
  /** Datasource ids (lower case) whose validation Azure refuses with this error. */
  validateRefusals = new Map<string, Error>();
  /** Hook run inside createBackupInstance before it takes effect (crash injection). */
  beforeCreate?: () => void;
  /** Async delay of every call (lets concurrent workers interleave). */
  latency = async (): Promise<void> => {
    await new Promise((r) => setImmediate(r));
  };

  constructor() {
    this.grantAll = this.grantAll.bind(this);
  }

  addServer(server: FlexibleServerInfo): FlexibleServerInfo {
    this.servers.set(server.id.toLowerCase(), server);
    return server;
  }

  /** Adds `server` with both roles the vault identity needs on it already granted. */
  addGrantedServer(server: FlexibleServerInfo): FlexibleServerInfo {
    this.grantAll(this.addServer(server).id);
    return server;
  }

  /** Adds policy `name` to the test vault. */
  addPolicy(name: string): void {
    this.policies.add(policyIdOf(name).toLowerCase());
  }

  /** Puts backup instance `name` of `dataSourceId` in the test vault, as if made by a PUT. */
  addInstance(name: string, dataSourceId: string, fields: Partial<BackupInstanceInfo> = {}): void {
    this.instances.set(name, { id: `${VAULT_ID}/backupInstances/${name}`, name, dataSourceId, ...fields });
  }

  /** Points instance `name` at policy `policyName`, as a change outside this app (or one not applied yet) does. */
  setInstancePolicy(name: string, policyName: string): void {
    const instance = this.instances.get(name);
    if (!instance) throw new Error(`No backup instance ${name}.`);
    this.instances.set(name, { ...instance, policyId: policyIdOf(policyName) });
  }

  grantAll(serverIdValue: string): void {
    const rg = serverIdValue.replace(/\/providers\/.*$/i, "");
    this.roles.push(
      {
        id: "ra1",
        scope: rg,
        roleDefinitionGuid: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        principalId: PRINCIPAL,
      },
      {
        id: "ra2",
        scope: serverIdValue,
        roleDefinitionGuid: "c088a766-074b-43ba-90d4-1fb21feae531",
        principalId: PRINCIPAL,
      },
    );
  }

  private hasRole(guid: string, scope: string): boolean {
    return this.roles.some(
      (r) =>
        r.roleDefinitionGuid === guid &&
        (scope.toLowerCase() === r.scope.toLowerCase() ||
          scope.toLowerCase().startsWith(`${r.scope.toLowerCase()}/`)),
    );
  }

  writes(op?: string): Call[] {
    return this.calls.filter((c) => c.write && (!op || c.op === op));
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  async record(op: string, target: string, write: boolean): Promise<void> {
    this.calls.push({ op, target, write });
    await this.latency();
  }

  get serversPort(): ServersPort {
    return {
      getServer: async (id) => {
        await this.record("getServer", id, false);
        const s = this.servers.get(id.toLowerCase());
        return s && structuredClone(s);
      },
    };
  }

  get rolesPort(): RolesPort {
    return {
      listForPrincipal: (scope, principalId) => this.listRoles(scope, principalId),
      createAssignment: async (scope, guid, principalId) => {
        await this.record("createRole", `${scope}|${guid}`, true);
        if (!this.mayGrant)
          throw anArmError(403, "AuthorizationFailed", "The client does not have authorization.");
        this.roles.push({ id: `ra-${this.roles.length}`, scope, roleDefinitionGuid: guid, principalId });
      },
    };
  }

  get dataProtectionPort(): DataProtectionPort {
    const datasourceOf = (p: BackupInstanceProperties) => p.dataSourceInfo.resourceID.toLowerCase();
    return {
      getVault: async (id) => {
        await this.record("getVault", id, false);
        return this.vaults.find((v) => v.id.toLowerCase() === id.toLowerCase());
      },
      listVaults: (sub) => this.listVaultsOf(sub),
      getPolicy: async (vaultId, name) => {
        await this.record("getPolicy", name, false);
        const id = `${vaultId}/backupPolicies/${name}`;
        return this.policies.has(id.toLowerCase()) ? id : undefined;
      },
      createPolicy: async (vaultId, name) => {
        await this.record("createPolicy", name, true);
        const id = `${vaultId}/backupPolicies/${name}`;
        this.policies.add(id.toLowerCase());
        return id;
      },
      getBackupInstance: async (vaultId, name) => {
        await this.record("getBackupInstance", name, false);
        const i = this.instances.get(name);
        if (!i) return undefined;
        if (this.configuringReads > 0) {
          this.configuringReads--;
          return { ...i, protectionStatus: "ConfiguringProtection" };
        }
        return { ...i, protectionStatus: "ProtectionConfigured" };
      },
      beginValidateForBackup: async (vaultId, p) => {
        await this.record("validateForBackup", datasourceOf(p), true);
        return JSON.stringify({ ds: datasourceOf(p), polls: 0 });
      },
      pollValidateForBackup: async (vaultId, operationState) => {
        const op = JSON.parse(operationState) as { ds: string; polls: number };
        await this.record("pollValidateForBackup", op.ds, false);
        if (op.polls < this.validatePollsBeforeDone) {
          return { done: false, operationState: JSON.stringify({ ...op, polls: op.polls + 1 }) };
        }
        const ds = op.ds;
        const refusal = this.validateRefusals.get(ds);
        if (refusal) throw refusal;
        if (this.protectedElsewhere.has(ds)) {
          throw anArmError(
            409,
            "UserErrorDppDatasourceAlreadyProtected",
            "Datasource is already protected in vault bv-other.",
          );
        }
        const existing = [...this.instances.values()].find((i) => i.dataSourceId.toLowerCase() === ds);
        if (existing) {
          throw anArmError(
            409,
            "UserErrorDppDatasourceAlreadyProtected",
            `Datasource is already protected in vault bv-weu.`,
          );
        }
        const rg = ds.replace(/\/providers\/.*$/i, "");
        if (
          !this.hasRole("acdd72a7-3385-48ef-bd42-f606fba81ae7", rg) ||
          !this.hasRole("c088a766-074b-43ba-90d4-1fb21feae531", ds)
        ) {
          throw anArmError(
            400,
            "UserErrorMissingRequiredPermissions",
            "Appropriate permissions to perform the operation is missing.",
          );
        }
        return { done: true, operationState };
      },
      createBackupInstance: async (vaultId, name, p) => {
        await this.record("createBackupInstance", name, true);
        this.beforeCreate?.();
        this.instances.set(name, {
          id: `${vaultId}/backupInstances/${name}`,
          name,
          dataSourceId: p.dataSourceInfo.resourceID,
          policyId: p.policyInfo.policyId,
          protectionStatus: "ConfiguringProtection",
        });
        return undefined;
      },
      getDeletedBackupInstance: async (vaultId, name) => {
        await this.record("getDeletedBackupInstance", name, false);
        return this.deleted.get(name);
      },
      beginUndeleteBackupInstance: async (vaultId, name) => {
        await this.record("undeleteBackupInstance", name, true);
        const gone = this.deleted.get(name);
        if (gone) this.instances.set(name, { ...gone, protectionStatus: "ProtectionStopped" });
        this.deleted.delete(name);
        return JSON.stringify({ op: "undelete", name });
      },
      beginResumeProtection: async (vaultId, name) => {
        await this.record("resumeProtection", name, true);
        return JSON.stringify({ op: "resume", name });
      },
      pollInstanceOperation: async (vaultId, operationState) => {
        await this.record("pollInstanceOperation", operationState, false);
        return { done: true, operationState };
      },
    };
  }

  private async *listRoles(scope: string, principalId: string): AsyncIterableIterator<RoleAssignmentInfo> {
    await this.record("listRoles", scope, false);
    for (const r of this.roles) if (r.principalId === principalId) yield r;
  }

  private async *listVaultsOf(sub: string): AsyncIterableIterator<VaultInfo> {
    await this.record("listVaults", sub, false);
    for (const v of this.vaults) if (v.id.toLowerCase().includes(sub.toLowerCase())) yield v;
  }

  get arm(): { servers: ServersPort; roles: RolesPort; dataProtection: DataProtectionPort } {
    return { servers: this.serversPort, roles: this.rolesPort, dataProtection: this.dataProtectionPort };
  }
}

export class FakeQueue implements ProtectionQueue {
  sent: Array<{ message: ProtectionMessage; options?: SendMessageOptions }> = [];
  async send(message: ProtectionMessage, options?: SendMessageOptions): Promise<void> {
    this.sent.push({ message: structuredClone(message), options });
  }
}

/** Settings for tests: no real waiting (sleep is faked), a weekly policy, the vault map for westeurope. */
export function testSettings(overrides: Partial<ProtectionSettings> = {}): ProtectionSettings {
  return {
    ...defaultProtectionSettings,
    policyMap: { weekly: "pgflex-weekly", gold: "pgflex-gold" },
    vaultMap: { westeurope: VAULT_ID },
    ...overrides,
  };
}

/** A controllable clock. */
export function fakeClock(start = Date.parse("2026-11-25T10:00:00Z")) {
  let t = start;
  return {
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
  };
}
