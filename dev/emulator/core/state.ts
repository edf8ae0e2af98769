import type {
  ResourceGroupRecord,
  RoleAssignmentRecord,
  ServerRecord,
  ServerState,
  SharedState,
  SubscriptionRecord,
} from "./provider.js";
import { types } from "node:util";
import { isGuid, lower, normalizeScope, parseResourceId, resourceGroupKey } from "./ids.js";

export const DEFAULT_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/** A server in a seed: either a full `ServerRecord` (as exported) or the short form. */
export interface SeedServer {
  id?: string;
  subscriptionId?: string;
  resourceGroupName?: string;
  name?: string;
  location: string;
  tags?: Record<string, string>;
  state?: ServerState;
  version?: string;
  storageSizeGB?: number;
  properties?: Record<string, unknown>;
  sku?: { name: string; tier: string };
  systemData?: Record<string, unknown>;
}

export interface SeedRoleAssignment {
  scope: string;
  /** GUID; generated when absent. */
  name?: string;
  /** Bare GUID or full role definition id. */
  roleDefinitionId: string;
  principalId: string;
  principalType?: RoleAssignmentRecord["principalType"];
  createdOn?: string;
}

/** The seed / export format (see dev/emulator/README.md, "Seed format"). */
export interface EmulatorSeed {
  subscriptions?: Array<Partial<SubscriptionRecord> & { subscriptionId: string }>;
  resourceGroups?: Array<{
    subscriptionId: string;
    name: string;
    location?: string;
    tags?: Record<string, string>;
  }>;
  servers?: SeedServer[];
  roleAssignments?: SeedRoleAssignment[];
  /** Tags of other resources, by resource id. */
  tags?: Record<string, Record<string, string>>;
  /** Event Grid subscribers to register (validation handshake skipped for seeds). */
  eventSubscribers?: unknown[];
  /** Provider state slices by provider name. */
  providers?: Record<string, unknown>;
}

export class SeedError extends TypeError {
  override readonly name = "SeedError";
}

export interface EmulatorState extends SharedState {
  export(): EmulatorSeed;
  import(seed: EmulatorSeed, options?: { merge?: boolean }): void;
  clear(): void;
  /** Makes an unseen subscription exist (ARM answers for any subscription the caller can reach). */
  ensureSubscription(subscriptionId: string): SubscriptionRecord;
  upsertServer(server: ServerRecord): void;
  providerSlices(): Map<string, object>;
}

export function roleDefinitionIdFor(subscriptionId: string | undefined, roleGuid: string): string {
  const base = `/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
  return subscriptionId ? `/subscriptions/${subscriptionId}${base}` : base;
}

export function serverIdFor(subscriptionId: string, resourceGroupName: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
}

/** The SKU of a server created without one (seeds, the control API, a PUT without `sku`). */
export const DEFAULT_SERVER_SKU: NonNullable<ServerRecord["sku"]> = {
  name: "Standard_D2ds_v5",
  tier: "GeneralPurpose",
};

/** Realistic defaults matching the spec's Servers_Get example. */
export function defaultServerProperties(
  name: string,
  version = "17",
  storageSizeGB = 128,
): ServerRecord["properties"] {
  return {
    administratorLogin: "pgadmin",
    version,
    minorVersion: version === "17" ? "5" : "9",
    state: "Ready",
    fullyQualifiedDomainName: `${name}.postgres.database.azure.com`,
    storage: { storageSizeGB, autoGrow: "Disabled", tier: "P10", iops: 500, type: "Premium_LRS" },
    authConfig: { activeDirectoryAuth: "Disabled", passwordAuth: "Enabled" },
    dataEncryption: { type: "SystemManaged" },
    backup: { backupRetentionDays: 7, geoRedundantBackup: "Disabled" },
    network: { publicNetworkAccess: "Enabled" },
    highAvailability: { mode: "Disabled", state: "NotEnabled" },
    maintenanceWindow: { customWindow: "Disabled", dayOfWeek: 0, startHour: 0, startMinute: 0 },
    replicationRole: "Primary",
    replicaCapacity: 5,
    replica: { role: "Primary", capacity: 5 },
    availabilityZone: "1",
    privateEndpointConnections: [],
  };
}

export function createState(): EmulatorState {
  const subscriptions = new Map<string, SubscriptionRecord>();
  const resourceGroups = new Map<string, ResourceGroupRecord>();
  const servers = new Map<string, ServerRecord>();
  const roleAssignments = new Map<string, RoleAssignmentRecord>();
  const tags = new Map<string, Record<string, string>>();
  const slices = new Map<string, object>();
  let pendingSlices: Record<string, unknown> = {};

  const ensureSubscription = (subscriptionId: string): SubscriptionRecord => {
    const key = lower(subscriptionId);
    let record = subscriptions.get(key);
    if (!record) {
      record = {
        subscriptionId: key,
        displayName: `Subscription ${key.slice(0, 8)}`,
        tenantId: DEFAULT_TENANT_ID,
        state: "Enabled",
      };
      subscriptions.set(key, record);
    }
    return record;
  };

  const ensureResourceGroup = (
    subscriptionId: string,
    resourceGroupName: string,
    location = "eastus",
  ): ResourceGroupRecord => {
    ensureSubscription(subscriptionId);
    const key = resourceGroupKey(subscriptionId, resourceGroupName);
    let record = resourceGroups.get(key);
    if (!record) {
      record = { subscriptionId: lower(subscriptionId), name: resourceGroupName, location, tags: {} };
      resourceGroups.set(key, record);
    }
    return record;
  };

  const upsertServer = (server: ServerRecord): void => {
    ensureResourceGroup(server.subscriptionId, server.resourceGroupName, server.location);
    servers.set(lower(server.id), server);
  };

  const importServer = (seed: SeedServer): ServerRecord => {
    const parsed = seed.id ? parseResourceId(seed.id) : {};
    const subscriptionId = seed.subscriptionId ?? parsed.subscriptionId;
    const resourceGroupName = seed.resourceGroupName ?? parsed.resourceGroupName;
    const name = seed.name ?? parsed.name;
    if (!subscriptionId || !resourceGroupName || !name) {
      throw new SeedError("A seed server needs an id or subscriptionId, resourceGroupName and name.");
    }
    if (!isGuid(subscriptionId))
      throw new SeedError(`Seed subscription id '${subscriptionId}' is not a GUID.`);
    if (!seed.location) throw new SeedError(`Seed server '${name}' needs a location.`);
    const properties = {
      ...defaultServerProperties(name, seed.version, seed.storageSizeGB),
      ...(seed.properties ?? {}),
    } as ServerRecord["properties"];
    if (seed.state) properties.state = seed.state;
    return {
      id: seed.id ?? serverIdFor(subscriptionId, resourceGroupName, name),
      subscriptionId: lower(subscriptionId),
      resourceGroupName,
      name,
      location: seed.location,
      tags: { ...(seed.tags ?? {}) },
      properties,
      sku: seed.sku ?? { ...DEFAULT_SERVER_SKU },
      ...(seed.systemData ? { systemData: { ...seed.systemData } } : {}),
    };
  };

  const clear = (): void => {
    subscriptions.clear();
    resourceGroups.clear();
    servers.clear();
    roleAssignments.clear();
    tags.clear();
    slices.clear();
    pendingSlices = {};
  };

  const state: EmulatorState = {
    subscriptions,
    resourceGroups,
    servers,
    roleAssignments,
    tags,
    slice<T extends object>(providerName: string, init: () => T): T {
      let slice = slices.get(providerName);
      if (!slice) {
        const pending = pendingSlices[providerName];
        slice =
          pending !== undefined && typeof pending === "object" && pending !== null ? (pending as T) : init();
        delete pendingSlices[providerName];
        slices.set(providerName, slice);
      }
      return slice as T;
    },
    listSlices(): Array<[string, object]> {
      for (const [name, value] of Object.entries(pendingSlices)) {
        if (typeof value === "object" && value !== null) state.slice(name, () => value as object);
      }
      return [...slices.entries()];
    },
    ensureResourceGroup,
    getResourceGroup: (subscriptionId, resourceGroupName) =>
      resourceGroups.get(resourceGroupKey(subscriptionId, resourceGroupName)),
    getSubscription: (subscriptionId) => subscriptions.get(lower(subscriptionId)),
    ensureSubscription,
    upsertServer,
    providerSlices: () => slices,
    clear,
    export(): EmulatorSeed {
      const providers: Record<string, unknown> = { ...pendingSlices };
      for (const [name, slice] of slices) providers[name] = withoutProxies(slice);
      return structuredClone({
        subscriptions: [...subscriptions.values()],
        resourceGroups: [...resourceGroups.values()],
        servers: [...servers.values()],
        roleAssignments: [...roleAssignments.values()].map(({ effectiveFromMs: _unused, ...rest }) => rest),
        tags: Object.fromEntries(tags),
        providers,
      });
    },
    import(seed: EmulatorSeed, options = {}): void {
      if (typeof seed !== "object" || seed === null || Array.isArray(seed)) {
        throw new SeedError("A seed must be a JSON object.");
      }
      if (!options.merge) clear();
      for (const sub of seed.subscriptions ?? []) {
        if (!isGuid(sub.subscriptionId ?? "")) {
          throw new SeedError(`Seed subscription id '${String(sub.subscriptionId)}' is not a GUID.`);
        }
        const record = ensureSubscription(sub.subscriptionId);
        Object.assign(record, { ...sub, subscriptionId: lower(sub.subscriptionId) });
      }
      for (const group of seed.resourceGroups ?? []) {
        if (!isGuid(group.subscriptionId ?? "")) {
          throw new SeedError(`Seed subscription id '${String(group.subscriptionId)}' is not a GUID.`);
        }
        const record = ensureResourceGroup(group.subscriptionId, group.name, group.location);
        if (group.location) record.location = group.location;
        record.tags = { ...(group.tags ?? {}) };
      }
      for (const server of seed.servers ?? []) upsertServer(importServer(server));
      for (const assignment of seed.roleAssignments ?? []) {
        const scope = normalizeScope(assignment.scope);
        const name = assignment.name ?? crypto.randomUUID();
        const roleGuid = assignment.roleDefinitionId.split("/").pop() ?? "";
        if (!isGuid(roleGuid))
          throw new SeedError(`Seed role definition '${assignment.roleDefinitionId}' is not a GUID.`);
        const subscriptionId = parseResourceId(scope).subscriptionId;
        if (subscriptionId) ensureSubscription(subscriptionId);
        const id = `${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
        roleAssignments.set(lower(id), {
          id,
          name,
          scope,
          roleDefinitionId: assignment.roleDefinitionId.includes("/")
            ? assignment.roleDefinitionId
            : roleDefinitionIdFor(subscriptionId, roleGuid),
          principalId: assignment.principalId,
          principalType: assignment.principalType ?? "ServicePrincipal",
          createdOn: assignment.createdOn ?? new Date().toISOString(),
        });
      }
      for (const [id, value] of Object.entries(seed.tags ?? {})) tags.set(lower(id), { ...value });
      for (const [name, value] of Object.entries(seed.providers ?? {})) {
        if (slices.has(name) && options.merge) Object.assign(slices.get(name) as object, value);
        else {
          slices.delete(name);
          pendingSlices[name] = structuredClone(value);
        }
      }
    },
  };
  return state;
}

/**
 * A slice whose top-level collections a provider watches through a Proxy (the Data Protection instances'
 * index) exports as plain objects: `structuredClone` cannot copy a Proxy.
 */
function withoutProxies(slice: object): object {
  if (!Object.values(slice).some((v) => types.isProxy(v))) return slice;
  return Object.fromEntries(
    Object.entries(slice).map(([k, v]) => [k, types.isProxy(v) ? { ...(v as object) } : v]),
  );
}
