import type { TokenCredential } from "@azure/core-auth";
import type { OperationState, PollerLike } from "@azure/core-lro";
import { createArmRestClient } from "../arm-rest.js";
import type {
  ArmRestClient,
  ArmRestClientOptions,
  BeginOperationInputs,
  LroOptions,
  RequestOptions,
} from "../arm-rest.js";
import { isArmRestError } from "../arm-error.js";
import { backupJobId, normalizeJobId } from "../ids.js";
import { createPagedIterator } from "../paging.js";
import type { PagedAsyncIterableIterator } from "@azure/core-paging";
import { dataProtectionApiVersion } from "./models.js";
import type {
  AdhocBackupResult,
  AzureBackupJobResource,
  AzureBackupRecoveryPointBasedRestoreRequest,
  AzureBackupRecoveryPointResource,
  BackupInstanceResource,
  BackupVaultResource,
  BaseBackupPolicyResource,
  DeletedBackupInstanceResource,
  OperationJobExtendedInfo,
  OperationResource,
  TriggerBackupRequest,
  TriggerRestoreResult,
  ValidateForBackupRequest,
  ValidateRestoreRequestObject,
} from "./models.js";

/**
 * Typed client for Microsoft.DataProtection (api-version 2024-04-01), shaped like the official
 * `@azure/arm-dataprotection` (operation groups, names and argument order), which is not available here.
 * Lists are async iterators, LROs are core-lro pollers (`serialize()` / `resumeFrom`), and every non-success
 * answer is a `RestError` whose `code` is ARM's `error.code` (see ../arm-error.ts).
 */

export interface DataProtectionClientOptions extends Omit<ArmRestClientOptions, "apiVersion"> {
  /** Default 2024-04-01. */
  apiVersion?: string;
  /** Default poll interval of this client's LROs (a call's `updateIntervalInMs` wins). */
  updateIntervalInMs?: number;
}

export type OperationOptions = RequestOptions;
export type LroOperationOptions = LroOptions;
export type DataProtectionPoller<T> = PollerLike<OperationState<T>, T>;

export interface RecoveryPointsListOptions extends OperationOptions {
  /** OData filter sent as `$filter`, e.g. `startDate eq '2024-04-01T00:00:00Z'` (see the spec). */
  filter?: string;
}

const provider = "providers/Microsoft.DataProtection";

export class DataProtectionClient {
  readonly subscriptionId: string | undefined;
  readonly backupVaults: BackupVaults;
  readonly backupPolicies: BackupPolicies;
  readonly backupInstances: BackupInstances;
  readonly deletedBackupInstances: DeletedBackupInstances;
  readonly jobs: Jobs;
  readonly recoveryPoints: RecoveryPoints;
  /** The transport, for calls this client does not model. */
  readonly rest: ArmRestClient;

  constructor(
    credential: TokenCredential,
    subscriptionId?: string,
    options: DataProtectionClientOptions = {},
  ) {
    this.subscriptionId = subscriptionId;
    this.rest = createArmRestClient(credential, {
      ...options,
      apiVersion: options.apiVersion ?? dataProtectionApiVersion,
    });
    const ctx: Ctx = {
      rest: this.rest,
      subscriptionId: () => {
        if (!subscriptionId)
          throw new TypeError("This DataProtectionClient was created without a subscriptionId.");
        return subscriptionId;
      },
      interval: options.updateIntervalInMs,
    };
    this.backupVaults = new BackupVaults(ctx);
    this.backupPolicies = new BackupPolicies(ctx);
    this.backupInstances = new BackupInstances(ctx);
    this.deletedBackupInstances = new DeletedBackupInstances(ctx);
    this.jobs = new Jobs(ctx);
    this.recoveryPoints = new RecoveryPoints(ctx);
  }
}

interface Ctx {
  rest: ArmRestClient;
  subscriptionId(): string;
  interval: number | undefined;
}

const e = encodeURIComponent;

/** `/subscriptions/{sub}[/resourceGroups/{rg}]/providers/Microsoft.DataProtection/{segments}`, each part encoded. */
function providerPath(ctx: Ctx, resourceGroupName: string | undefined, ...segments: string[]): string {
  const rg = resourceGroupName === undefined ? "" : `/resourceGroups/${e(resourceGroupName)}`;
  return `/subscriptions/${e(ctx.subscriptionId())}${rg}/${provider}/${segments.map(e).join("/")}`;
}

function vaultPath(ctx: Ctx, resourceGroupName: string, vaultName: string, ...segments: string[]): string {
  return providerPath(ctx, resourceGroupName, "backupVaults", vaultName, ...segments);
}

async function get<T>(ctx: Ctx, path: string, options: OperationOptions | undefined): Promise<T> {
  return (await ctx.rest.send<T>("GET", path, options)).body;
}

function list<T>(
  ctx: Ctx,
  path: string,
  options: OperationOptions | undefined,
  query?: Record<string, string | undefined>,
): PagedAsyncIterableIterator<T> {
  return createPagedIterator(
    (link, abortSignal) => ctx.rest.getPage<T>(path, link, { abortSignal, query }),
    options?.abortSignal,
  );
}

function begin<T>(
  ctx: Ctx,
  inputs: Omit<BeginOperationInputs<T>, "options">,
  options: LroOptions | undefined,
): DataProtectionPoller<T> {
  return ctx.rest.beginOperation<T>({
    ...inputs,
    options: { ...options, updateIntervalInMs: options?.updateIntervalInMs ?? ctx.interval },
  });
}

function andWait<T>(poller: DataProtectionPoller<T>, options: LroOptions | undefined): Promise<T> {
  return poller.pollUntilDone({ abortSignal: options?.abortSignal });
}

const toVoid = (): void => undefined;

export class BackupVaults {
  constructor(private readonly ctx: Ctx) {}

  async get(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): Promise<BackupVaultResource> {
    return get(this.ctx, vaultPath(this.ctx, resourceGroupName, vaultName), options);
  }

  listInResourceGroup(
    resourceGroupName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<BackupVaultResource> {
    return list(this.ctx, providerPath(this.ctx, resourceGroupName, "backupVaults"), options);
  }

  listInSubscription(options?: OperationOptions): PagedAsyncIterableIterator<BackupVaultResource> {
    return list(this.ctx, providerPath(this.ctx, undefined, "backupVaults"), options);
  }
}

export class BackupPolicies {
  constructor(private readonly ctx: Ctx) {}

  list(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<BaseBackupPolicyResource> {
    return list(this.ctx, vaultPath(this.ctx, resourceGroupName, vaultName, "backupPolicies"), options);
  }

  async get(
    resourceGroupName: string,
    vaultName: string,
    backupPolicyName: string,
    options?: OperationOptions,
  ): Promise<BaseBackupPolicyResource> {
    return get(this.ctx, this.path(resourceGroupName, vaultName, backupPolicyName), options);
  }

  async createOrUpdate(
    resourceGroupName: string,
    vaultName: string,
    backupPolicyName: string,
    parameters: BaseBackupPolicyResource,
    options?: OperationOptions,
  ): Promise<BaseBackupPolicyResource> {
    const path = this.path(resourceGroupName, vaultName, backupPolicyName);
    return (await this.ctx.rest.send<BaseBackupPolicyResource>("PUT", path, { ...options, body: parameters }))
      .body;
  }

  private path(resourceGroupName: string, vaultName: string, backupPolicyName: string): string {
    return vaultPath(this.ctx, resourceGroupName, vaultName, "backupPolicies", backupPolicyName);
  }
}

export class BackupInstances {
  constructor(private readonly ctx: Ctx) {}

  private path(resourceGroupName: string, vaultName: string, ...segments: string[]): string {
    return vaultPath(this.ctx, resourceGroupName, vaultName, "backupInstances", ...segments);
  }

  async get(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: OperationOptions,
  ): Promise<BackupInstanceResource> {
    return get(this.ctx, this.path(resourceGroupName, vaultName, backupInstanceName), options);
  }

  list(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<BackupInstanceResource> {
    return list(this.ctx, this.path(resourceGroupName, vaultName), options);
  }

  /** PUT of a backup instance: 201 + Azure-AsyncOperation, then the resource reads `ConfiguringProtection` → `ProtectionConfigured`. */
  beginCreateOrUpdate(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: BackupInstanceResource,
    options?: LroOperationOptions,
  ): DataProtectionPoller<BackupInstanceResource> {
    const path = this.path(resourceGroupName, vaultName, backupInstanceName);
    return begin<BackupInstanceResource>(this.ctx, { method: "PUT", path, body: parameters }, options);
  }

  async beginCreateOrUpdateAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: BackupInstanceResource,
    options?: LroOperationOptions,
  ): Promise<BackupInstanceResource> {
    return andWait(
      this.beginCreateOrUpdate(resourceGroupName, vaultName, backupInstanceName, parameters, options),
      options,
    );
  }

  /** Checks roles, region, server state and existing protection; fails with the ARM code (e.g. UserErrorMissingRequiredPermissions). */
  beginValidateForBackup(
    resourceGroupName: string,
    vaultName: string,
    parameters: ValidateForBackupRequest,
    options?: LroOperationOptions,
  ): DataProtectionPoller<OperationJobExtendedInfo> {
    const path = vaultPath(this.ctx, resourceGroupName, vaultName, "validateForBackup");
    return begin(this.ctx, { method: "POST", path, body: parameters, toResult: toJobInfo }, options);
  }

  async beginValidateForBackupAndWait(
    resourceGroupName: string,
    vaultName: string,
    parameters: ValidateForBackupRequest,
    options?: LroOperationOptions,
  ): Promise<OperationJobExtendedInfo> {
    return andWait(this.beginValidateForBackup(resourceGroupName, vaultName, parameters, options), options);
  }

  /** Ad hoc backup; the result carries the job's normalised GUID and full resource id. */
  beginAdhocBackup(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: TriggerBackupRequest,
    options?: LroOperationOptions,
  ): DataProtectionPoller<AdhocBackupResult> {
    const ref = { subscriptionId: this.ctx.subscriptionId(), resourceGroupName, vaultName };
    const toResult = (body: unknown): AdhocBackupResult => withJobIds(body, ref, "ad hoc backup");
    const path = this.path(resourceGroupName, vaultName, backupInstanceName, "backup");
    return begin(this.ctx, { method: "POST", path, body: parameters, toResult }, options);
  }

  async beginAdhocBackupAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: TriggerBackupRequest,
    options?: LroOperationOptions,
  ): Promise<AdhocBackupResult> {
    return andWait(
      this.beginAdhocBackup(resourceGroupName, vaultName, backupInstanceName, parameters, options),
      options,
    );
  }

  /** Resumes protection of a `ProtectionStopped` instance (e.g. one just undeleted): 202, then `ProtectionConfigured`. */
  beginResumeProtection(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    const path = this.path(resourceGroupName, vaultName, backupInstanceName, "resumeProtection");
    return begin(this.ctx, { method: "POST", path, toResult: toVoid }, options);
  }

  async beginResumeProtectionAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): Promise<void> {
    return andWait(
      this.beginResumeProtection(resourceGroupName, vaultName, backupInstanceName, options),
      options,
    );
  }

  /**
   * Checks a restore before it is started (target reachable, the vault identity's role on it, the recovery
   * point); fails with the ARM code, e.g. UserErrorContainerNotAccessible.
   */
  beginValidateForRestore(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: ValidateRestoreRequestObject,
    options?: LroOperationOptions,
  ): DataProtectionPoller<OperationJobExtendedInfo> {
    const path = this.path(resourceGroupName, vaultName, backupInstanceName, "validateRestore");
    return begin(this.ctx, { method: "POST", path, body: parameters, toResult: toJobInfo }, options);
  }

  async beginValidateForRestoreAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: ValidateRestoreRequestObject,
    options?: LroOperationOptions,
  ): Promise<OperationJobExtendedInfo> {
    return andWait(
      this.beginValidateForRestore(resourceGroupName, vaultName, backupInstanceName, parameters, options),
      options,
    );
  }

  /** Starts a restore; the result carries the restore job's normalised GUID and full resource id. */
  beginTriggerRestore(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: AzureBackupRecoveryPointBasedRestoreRequest,
    options?: LroOperationOptions,
  ): DataProtectionPoller<TriggerRestoreResult> {
    const ref = { subscriptionId: this.ctx.subscriptionId(), resourceGroupName, vaultName };
    const path = this.path(resourceGroupName, vaultName, backupInstanceName, "restore");
    const toResult = (body: unknown) => withJobIds(body, ref, "restore");
    return begin(this.ctx, { method: "POST", path, body: parameters, toResult }, options);
  }

  async beginTriggerRestoreAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: AzureBackupRecoveryPointBasedRestoreRequest,
    options?: LroOperationOptions,
  ): Promise<TriggerRestoreResult> {
    return andWait(
      this.beginTriggerRestore(resourceGroupName, vaultName, backupInstanceName, parameters, options),
      options,
    );
  }

  /** Deletes (soft-deletes, when the vault keeps deleted items) the instance; succeeds when it is already gone. */
  beginDelete(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    const path = this.path(resourceGroupName, vaultName, backupInstanceName);
    return begin(this.ctx, { method: "DELETE", path, toResult: toVoid }, options);
  }

  async beginDeleteAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): Promise<void> {
    try {
      await andWait(this.beginDelete(resourceGroupName, vaultName, backupInstanceName, options), options);
    } catch (err) {
      if (isArmRestError(err) && err.statusCode === 404) return;
      throw err;
    }
  }
}

export class DeletedBackupInstances {
  constructor(private readonly ctx: Ctx) {}

  list(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<DeletedBackupInstanceResource> {
    return list(
      this.ctx,
      vaultPath(this.ctx, resourceGroupName, vaultName, "deletedBackupInstances"),
      options,
    );
  }

  async get(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: OperationOptions,
  ): Promise<DeletedBackupInstanceResource> {
    const path = vaultPath(
      this.ctx,
      resourceGroupName,
      vaultName,
      "deletedBackupInstances",
      backupInstanceName,
    );
    return get(this.ctx, path, options);
  }

  /**
   * Brings a soft-deleted instance back under its name, with its recovery points; it returns in
   * `ProtectionStopped` (resume protection next). 202 + Azure-AsyncOperation + Location.
   */
  beginUndelete(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    const path = vaultPath(
      this.ctx,
      resourceGroupName,
      vaultName,
      "deletedBackupInstances",
      backupInstanceName,
      "undelete",
    );
    return begin(this.ctx, { method: "POST", path, toResult: toVoid }, options);
  }

  async beginUndeleteAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): Promise<void> {
    return andWait(this.beginUndelete(resourceGroupName, vaultName, backupInstanceName, options), options);
  }
}

export class Jobs {
  constructor(private readonly ctx: Ctx) {}

  /** `jobId` may be the GUID or the job's full ARM id (as an ad hoc backup returns it). */
  async get(
    resourceGroupName: string,
    vaultName: string,
    jobId: string,
    options?: OperationOptions,
  ): Promise<AzureBackupJobResource> {
    const path = vaultPath(this.ctx, resourceGroupName, vaultName, "backupJobs", normalizeJobId(jobId));
    return get(this.ctx, path, options);
  }

  /**
   * Every job of the vault, page by page. The spec gives this list no query parameter but `api-version` (no
   * `$filter`, no `$top`), so a time-bounded read is the caller's: cut off client-side, or Resource Graph.
   */
  list(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<AzureBackupJobResource> {
    const path = vaultPath(this.ctx, resourceGroupName, vaultName, "backupJobs");
    return list(this.ctx, path, options);
  }
}

export class RecoveryPoints {
  constructor(private readonly ctx: Ctx) {}

  private path(resourceGroupName: string, vaultName: string, backupInstanceName: string, ...rest: string[]) {
    return vaultPath(
      this.ctx,
      resourceGroupName,
      vaultName,
      "backupInstances",
      backupInstanceName,
      "recoveryPoints",
      ...rest,
    );
  }

  /** The instance's recovery points, page by page (`nextLink`). */
  list(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: RecoveryPointsListOptions,
  ): PagedAsyncIterableIterator<AzureBackupRecoveryPointResource> {
    const path = this.path(resourceGroupName, vaultName, backupInstanceName);
    return list(this.ctx, path, options, { $filter: options?.filter });
  }

  async get(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    recoveryPointId: string,
    options?: OperationOptions,
  ): Promise<AzureBackupRecoveryPointResource> {
    return get(
      this.ctx,
      this.path(resourceGroupName, vaultName, backupInstanceName, recoveryPointId),
      options,
    );
  }
}

/** A finished operation's job id (full id or GUID, as the service answered) with both normalised forms. */
function withJobIds(
  body: unknown,
  ref: { subscriptionId: string; resourceGroupName: string; vaultName: string },
  what: string,
): AdhocBackupResult {
  const info = toJobInfo(body);
  if (!info.jobId) throw new TypeError(`The ${what} finished without a jobId.`);
  const jobId = normalizeJobId(info.jobId);
  return { ...info, jobId, rawJobId: info.jobId, jobResourceId: backupJobId(ref, jobId) };
}

/** The final body is OperationJobExtendedInfo (from Location) or, without Location, the operation status resource. */
function toJobInfo(body: unknown): OperationJobExtendedInfo {
  if (body && typeof body === "object") {
    const b = body as Partial<OperationJobExtendedInfo> & Partial<OperationResource>;
    if (typeof b.objectType === "string")
      return { objectType: b.objectType, ...(b.jobId ? { jobId: b.jobId } : {}) };
    if (b.properties && typeof b.properties === "object")
      return { ...b.properties, objectType: b.properties.objectType ?? "OperationJobExtendedInfo" };
  }
  return { objectType: "OperationJobExtendedInfo" };
}
