import { createServerStore } from "../../src/lib/store/servers.js";
import { createRestoreStore } from "../../src/lib/store/restores.js";
import { createRestoreService, type RestoreServiceDeps } from "../../src/lib/restore/service.js";
import type {
  RecoveryPointInfo,
  RestoreJob,
  RestoreOperations,
  RestoreTarget,
} from "../../src/lib/azure/restoreOperations.js";
import type { BlobInfo, StorageAccountInfo, StorageOperations } from "../../src/lib/azure/storage.js";
import type { RoleAssignmentInfo, RolesClient } from "../../src/lib/azure/roles.js";
import { SUB, VAULT, aServer } from "../fixtures/jobs/stores.js";
import { privateTablesAt } from "../support/tables.js";

export { SUB, VAULT, aServer };

export const ACCOUNT_ID = `/subscriptions/${SUB}/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/strestore`;
export const CONTAINER_ID = `${ACCOUNT_ID}/blobServices/default/containers/restores`;
export const BLOB_ENDPOINT = "https://strestore.blob.core.windows.net/";
export const PRINCIPAL = "55555555-5555-5555-5555-555555555555";
export const BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
export const ref = { subscriptionId: SUB, resourceGroup: "rg-db", serverName: "pg-one" };

export function aPoint(
  id: string,
  time: string,
  overrides: Partial<RecoveryPointInfo> = {},
): RecoveryPointInfo {
  return { id, time, retentionTag: "Weekly", policyName: "pgflex-weekly", state: "Completed", ...overrides };
}

/** A scripted Azure: recovery points, one storage account, role assignments and Restore jobs. */
export function aFakeAzure() {
  const state = {
    points: [
      aPoint("aaa111", "2026-11-01T02:00:00Z"),
      aPoint("ccc333", "2026-11-15T02:00:00Z"),
      aPoint("bbb222", "2026-11-08T02:00:00Z"),
    ],
    account: {
      id: ACCOUNT_ID,
      name: "strestore",
      location: "westeurope",
      allowCrossTenantReplication: true,
      publicNetworkAccess: "Enabled",
      blobEndpoint: BLOB_ENDPOINT,
    } as StorageAccountInfo | undefined,
    assignments: [
      { id: "a1", scope: CONTAINER_ID, roleDefinitionGuid: BLOB_CONTRIBUTOR, principalId: PRINCIPAL },
    ] as RoleAssignmentInfo[],
    blobs: [] as BlobInfo[],
    jobs: new Map<string, RestoreJob>(),
    validations: [] as RestoreTarget[],
    restores: [] as RestoreTarget[],
    grants: [] as Array<{ scope: string; role: string; principalId: string }>,
    /** Resolved before `restore` answers (tests hold it to race two requests). */
    restoreGate: undefined as Promise<void> | undefined,
    validateError: undefined as unknown,
  };
  const operations: RestoreOperations = {
    async *listRecoveryPoints() {
      yield* state.points;
    },
    async getRecoveryPoint(_instance, id) {
      return state.points.find((p) => p.id === id);
    },
    async validateRestore(_instance, target) {
      state.validations.push(target);
      if (state.validateError) throw state.validateError;
    },
    async startRestore(_instance, target) {
      await state.restoreGate;
      state.restores.push(target);
      const jobId = `00000000-0000-0000-0000-${String(state.restores.length).padStart(12, "0")}`;
      state.jobs.set(jobId, { status: "InProgress", startTime: "2026-11-20T10:00:00.000Z" });
      return { jobId, jobResourceId: `${VAULT}/backupJobs/${jobId}` };
    },
    async getRestoreJob(_vaultId, jobId) {
      return state.jobs.get(jobId);
    },
    async findRestoreJob(_instance, recoveryPointId) {
      const i = state.restores.map((r) => r.recoveryPointId).lastIndexOf(recoveryPointId);
      if (i < 0) return undefined;
      const jobId = `00000000-0000-0000-0000-${String(i + 1).padStart(12, "0")}`;
      return { jobId, jobResourceId: `${VAULT}/backupJobs/${jobId}` };
    },
  };
  const storage: StorageOperations = {
    async getAccount() {
      return state.account;
    },
    async *listBlobs() {
      yield* state.blobs;
    },
  };
  const roles: RolesClient = {
    async *listForPrincipal(_scope, principalId) {
      yield* state.assignments.filter((a) => a.principalId === principalId);
    },
    async createAssignment(scope, role, principalId) {
      state.grants.push({ scope, role, principalId });
    },
  };
  const vaults = {
    async getVault() {
      return { location: "westeurope", principalId: PRINCIPAL };
    },
  };
  return { state, operations, storage, roles, vaults };
}

/**
 * The restore service over `stores` and a scripted Azure: SUB in scope, CONTAINER_ID the one allowed target,
 * roles never granted by the app.
 */
export function aRestoreServiceOver(
  stores: Pick<RestoreServiceDeps, "servers" | "restores">,
  azure: ReturnType<typeof aFakeAzure>,
  now: () => Date,
  overrides: Partial<RestoreServiceDeps> = {},
) {
  return createRestoreService({
    ...stores,
    operations: azure.operations,
    storage: azure.storage,
    roles: azure.roles,
    vaults: azure.vaults,
    allowedTargets: [CONTAINER_ID],
    autoGrantRoles: false,
    scopes: [SUB],
    now,
    ...overrides,
  });
}

/** The restore service over Azurite tables (its own per call) and a scripted Azure. */
export async function aRestoreWorld(connectionString: string, overrides: Partial<RestoreServiceDeps> = {}) {
  const connection = privateTablesAt(connectionString);
  const servers = createServerStore(connection);
  await servers.create(aServer("pg-one"));
  const restores = createRestoreStore(connection);
  const azure = aFakeAzure();
  let clock = new Date("2026-11-20T10:00:00.000Z");
  const service = aRestoreServiceOver({ servers, restores }, azure, () => clock, overrides);
  return {
    service,
    restores,
    servers,
    azure,
    advance: (ms: number) => {
      clock = new Date(clock.getTime() + ms);
    },
  };
}
