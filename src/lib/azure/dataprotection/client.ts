import type { TokenCredential } from "@azure/core-auth";
import type { OperationState, PollerLike } from "@azure/core-lro";
import { createArmRestClient } from "../arm-rest.js";
import type { ArmRestClient, ArmRestClientOptions, LroOptions, RequestOptions } from "../arm-rest.js";
import { isArmRestError } from "../arm-error.js";
import { backupJobId, normalizeJobId } from "../ids.js";
import { createPagedIterator } from "../paging.js";
import type { PagedAsyncIterableIterator } from "../paging.js";
import { dataProtectionApiVersion } from "./models.js";
import type {
  AdhocBackupResult,
  AzureBackupJobResource,
  BackupInstanceResource,
  BackupVaultResource,
  BaseBackupPolicyResource,
  DeletedBackupInstanceResource,
  OperationJobExtendedInfo,
  OperationResource,
  TriggerBackupRequest,
  ValidateForBackupRequest,
} from "./models.js";

/**
 * Typed client for Microsoft.DataProtection (api-version 2024-04-01), shaped like the official
 * `@azure/arm-dataprotection` (operation groups, names and argument order), which is not available here.
 * Lists are async iterators, LROs are core-lro pollers (`serialize()` / `resumeFrom`), and every non-success
 * answer is a `RestError` whose `code` is ARM's `error.code` (see `knownArmErrorCodes`).
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

export interface JobsListOptions extends OperationOptions {
  /**
   * OData filter sent as `$filter`, e.g. `startTime ge '2024-04-10T00:00:00Z'`. Not in the 2024-04-01 spec,
   * but honoured by the service's job listing (and the emulator); without it the vault's whole history is listed.
   */
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
  readonly operationStatus: OperationStatus;
  readonly operationStatusBackupVaultContext: OperationStatusBackupVaultContext;
  readonly operationResult: OperationResult;
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
      sub: () => {
        if (!subscriptionId)
          throw new TypeError("This DataProtectionClient was created without a subscriptionId.");
        return encodeURIComponent(subscriptionId);
      },
      interval: options.updateIntervalInMs,
    };
    this.backupVaults = new BackupVaults(ctx);
    this.backupPolicies = new BackupPolicies(ctx);
    this.backupInstances = new BackupInstances(ctx);
    this.deletedBackupInstances = new DeletedBackupInstances(ctx);
    this.jobs = new Jobs(ctx);
    this.operationStatus = new OperationStatus(ctx);
    this.operationStatusBackupVaultContext = new OperationStatusBackupVaultContext(ctx);
    this.operationResult = new OperationResult(ctx);
  }
}

export function createDataProtectionClient(
  credential: TokenCredential,
  subscriptionId?: string,
  options?: DataProtectionClientOptions,
): DataProtectionClient {
  return new DataProtectionClient(credential, subscriptionId, options);
}

interface Ctx {
  rest: ArmRestClient;
  sub(): string;
  interval: number | undefined;
}

const e = encodeURIComponent;

function vaultPath(ctx: Ctx, resourceGroupName: string, vaultName: string): string {
  return `/subscriptions/${ctx.sub()}/resourceGroups/${e(resourceGroupName)}/${provider}/backupVaults/${e(vaultName)}`;
}

function lro(ctx: Ctx, options: LroOptions | undefined): LroOptions {
  return { ...options, updateIntervalInMs: options?.updateIntervalInMs ?? ctx.interval };
}

export class BackupVaults {
  constructor(private readonly ctx: Ctx) {}

  async get(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): Promise<BackupVaultResource> {
    return (
      await this.ctx.rest.send<BackupVaultResource>(
        "GET",
        vaultPath(this.ctx, resourceGroupName, vaultName),
        options,
      )
    ).body;
  }

  listInResourceGroup(
    resourceGroupName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<BackupVaultResource> {
    const path = `/subscriptions/${this.ctx.sub()}/resourceGroups/${e(resourceGroupName)}/${provider}/backupVaults`;
    return createPagedIterator(
      (link, abortSignal) => this.ctx.rest.getPage<BackupVaultResource>(path, link, { abortSignal }),
      options?.abortSignal,
    );
  }

  listInSubscription(options?: OperationOptions): PagedAsyncIterableIterator<BackupVaultResource> {
    const path = `/subscriptions/${this.ctx.sub()}/${provider}/backupVaults`;
    return createPagedIterator(
      (link, abortSignal) => this.ctx.rest.getPage<BackupVaultResource>(path, link, { abortSignal }),
      options?.abortSignal,
    );
  }
}

export class BackupPolicies {
  constructor(private readonly ctx: Ctx) {}

  list(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<BaseBackupPolicyResource> {
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/backupPolicies`;
    return createPagedIterator(
      (link, abortSignal) => this.ctx.rest.getPage<BaseBackupPolicyResource>(path, link, { abortSignal }),
      options?.abortSignal,
    );
  }

  async get(
    resourceGroupName: string,
    vaultName: string,
    backupPolicyName: string,
    options?: OperationOptions,
  ): Promise<BaseBackupPolicyResource> {
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/backupPolicies/${e(backupPolicyName)}`;
    return (await this.ctx.rest.send<BaseBackupPolicyResource>("GET", path, options)).body;
  }

  async createOrUpdate(
    resourceGroupName: string,
    vaultName: string,
    backupPolicyName: string,
    parameters: BaseBackupPolicyResource,
    options?: OperationOptions,
  ): Promise<BaseBackupPolicyResource> {
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/backupPolicies/${e(backupPolicyName)}`;
    return (await this.ctx.rest.send<BaseBackupPolicyResource>("PUT", path, { ...options, body: parameters }))
      .body;
  }

  /** Succeeds when the policy is already gone. */
  async delete(
    resourceGroupName: string,
    vaultName: string,
    backupPolicyName: string,
    options?: OperationOptions,
  ): Promise<void> {
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/backupPolicies/${e(backupPolicyName)}`;
    await this.ctx.rest.send("DELETE", path, { ...options, expected: [200, 204, 404] });
  }
}

export class BackupInstances {
  constructor(private readonly ctx: Ctx) {}

  private path(resourceGroupName: string, vaultName: string, backupInstanceName?: string): string {
    const base = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/backupInstances`;
    return backupInstanceName === undefined ? base : `${base}/${e(backupInstanceName)}`;
  }

  async get(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: OperationOptions,
  ): Promise<BackupInstanceResource> {
    return (
      await this.ctx.rest.send<BackupInstanceResource>(
        "GET",
        this.path(resourceGroupName, vaultName, backupInstanceName),
        options,
      )
    ).body;
  }

  list(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<BackupInstanceResource> {
    const path = this.path(resourceGroupName, vaultName);
    return createPagedIterator(
      (link, abortSignal) => this.ctx.rest.getPage<BackupInstanceResource>(path, link, { abortSignal }),
      options?.abortSignal,
    );
  }

  /** PUT of a backup instance: 201 + Azure-AsyncOperation, then the resource reads `ConfiguringProtection` → `ProtectionConfigured`. */
  beginCreateOrUpdate(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: BackupInstanceResource,
    options?: LroOperationOptions,
  ): DataProtectionPoller<BackupInstanceResource> {
    return this.ctx.rest.beginOperation<BackupInstanceResource>({
      method: "PUT",
      path: this.path(resourceGroupName, vaultName, backupInstanceName),
      body: parameters,
      options: lro(this.ctx, options),
    });
  }

  async beginCreateOrUpdateAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: BackupInstanceResource,
    options?: LroOperationOptions,
  ): Promise<BackupInstanceResource> {
    return this.beginCreateOrUpdate(
      resourceGroupName,
      vaultName,
      backupInstanceName,
      parameters,
      options,
    ).pollUntilDone({
      abortSignal: options?.abortSignal,
    });
  }

  /** Checks roles, region, server state and existing protection; fails with the ARM code (e.g. UserErrorMissingRequiredPermissions). */
  beginValidateForBackup(
    resourceGroupName: string,
    vaultName: string,
    parameters: ValidateForBackupRequest,
    options?: LroOperationOptions,
  ): DataProtectionPoller<OperationJobExtendedInfo> {
    return this.ctx.rest.beginOperation<OperationJobExtendedInfo>({
      method: "POST",
      path: `${vaultPath(this.ctx, resourceGroupName, vaultName)}/validateForBackup`,
      body: parameters,
      options: lro(this.ctx, options),
      toResult: toJobInfo,
    });
  }

  async beginValidateForBackupAndWait(
    resourceGroupName: string,
    vaultName: string,
    parameters: ValidateForBackupRequest,
    options?: LroOperationOptions,
  ): Promise<OperationJobExtendedInfo> {
    return this.beginValidateForBackup(resourceGroupName, vaultName, parameters, options).pollUntilDone({
      abortSignal: options?.abortSignal,
    });
  }

  /** Ad hoc backup; the result carries the job's normalised GUID and full resource id. */
  beginAdhocBackup(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: TriggerBackupRequest,
    options?: LroOperationOptions,
  ): DataProtectionPoller<AdhocBackupResult> {
    const ref = { subscriptionId: decodeURIComponent(this.ctx.sub()), resourceGroupName, vaultName };
    return this.ctx.rest.beginOperation<AdhocBackupResult>({
      method: "POST",
      path: `${this.path(resourceGroupName, vaultName, backupInstanceName)}/backup`,
      body: parameters,
      options: lro(this.ctx, options),
      toResult: (body) => {
        const info = toJobInfo(body);
        if (!info.jobId) throw new TypeError("The ad hoc backup finished without a jobId.");
        const jobId = normalizeJobId(info.jobId);
        return { ...info, jobId, rawJobId: info.jobId, jobResourceId: backupJobId(ref, jobId) };
      },
    });
  }

  async beginAdhocBackupAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    parameters: TriggerBackupRequest,
    options?: LroOperationOptions,
  ): Promise<AdhocBackupResult> {
    return this.beginAdhocBackup(
      resourceGroupName,
      vaultName,
      backupInstanceName,
      parameters,
      options,
    ).pollUntilDone({
      abortSignal: options?.abortSignal,
    });
  }

  /** Deletes (soft-deletes, when the vault keeps deleted items) the instance; succeeds when it is already gone. */
  beginDelete(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    return this.ctx.rest.beginOperation<void>({
      method: "DELETE",
      path: this.path(resourceGroupName, vaultName, backupInstanceName),
      options: lro(this.ctx, options),
      toResult: () => undefined,
    });
  }

  async beginDeleteAndWait(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): Promise<void> {
    try {
      await this.beginDelete(resourceGroupName, vaultName, backupInstanceName, options).pollUntilDone({
        abortSignal: options?.abortSignal,
      });
    } catch (err) {
      if (isArmRestError(err) && err.statusCode === 404) return;
      throw err;
    }
  }

  beginStopProtection(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    return this.action(rg, vaultName, backupInstanceName, "stopProtection", options);
  }
  async beginStopProtectionAndWait(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): Promise<void> {
    await this.beginStopProtection(rg, vaultName, backupInstanceName, options).pollUntilDone({
      abortSignal: options?.abortSignal,
    });
  }
  beginSuspendBackups(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    return this.action(rg, vaultName, backupInstanceName, "suspendBackups", options);
  }
  async beginSuspendBackupsAndWait(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): Promise<void> {
    await this.beginSuspendBackups(rg, vaultName, backupInstanceName, options).pollUntilDone({
      abortSignal: options?.abortSignal,
    });
  }
  beginResumeProtection(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    return this.action(rg, vaultName, backupInstanceName, "resumeProtection", options);
  }
  async beginResumeProtectionAndWait(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): Promise<void> {
    await this.beginResumeProtection(rg, vaultName, backupInstanceName, options).pollUntilDone({
      abortSignal: options?.abortSignal,
    });
  }
  beginResumeBackups(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    return this.action(rg, vaultName, backupInstanceName, "resumeBackups", options);
  }
  async beginResumeBackupsAndWait(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    options?: LroOperationOptions,
  ): Promise<void> {
    await this.beginResumeBackups(rg, vaultName, backupInstanceName, options).pollUntilDone({
      abortSignal: options?.abortSignal,
    });
  }

  private action(
    rg: string,
    vaultName: string,
    backupInstanceName: string,
    name: string,
    options?: LroOperationOptions,
  ): DataProtectionPoller<void> {
    return this.ctx.rest.beginOperation<void>({
      method: "POST",
      path: `${this.path(rg, vaultName, backupInstanceName)}/${name}`,
      options: lro(this.ctx, options),
      toResult: () => undefined,
    });
  }
}

export class DeletedBackupInstances {
  constructor(private readonly ctx: Ctx) {}

  list(
    resourceGroupName: string,
    vaultName: string,
    options?: OperationOptions,
  ): PagedAsyncIterableIterator<DeletedBackupInstanceResource> {
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/deletedBackupInstances`;
    return createPagedIterator(
      (link, abortSignal) =>
        this.ctx.rest.getPage<DeletedBackupInstanceResource>(path, link, { abortSignal }),
      options?.abortSignal,
    );
  }

  async get(
    resourceGroupName: string,
    vaultName: string,
    backupInstanceName: string,
    options?: OperationOptions,
  ): Promise<DeletedBackupInstanceResource> {
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/deletedBackupInstances/${e(backupInstanceName)}`;
    return (await this.ctx.rest.send<DeletedBackupInstanceResource>("GET", path, options)).body;
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
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/backupJobs/${e(normalizeJobId(jobId))}`;
    return (await this.ctx.rest.send<AzureBackupJobResource>("GET", path, options)).body;
  }

  list(
    resourceGroupName: string,
    vaultName: string,
    options?: JobsListOptions,
  ): PagedAsyncIterableIterator<AzureBackupJobResource> {
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/backupJobs`;
    const query = { $filter: options?.filter };
    return createPagedIterator(
      (link, abortSignal) =>
        this.ctx.rest.getPage<AzureBackupJobResource>(path, link, { abortSignal, query }),
      options?.abortSignal,
    );
  }
}

export class OperationStatus {
  constructor(private readonly ctx: Ctx) {}

  async get(location: string, operationId: string, options?: OperationOptions): Promise<OperationResource> {
    const path = `/subscriptions/${this.ctx.sub()}/${provider}/locations/${e(location)}/operationStatus/${e(operationId)}`;
    return (await this.ctx.rest.send<OperationResource>("GET", path, options)).body;
  }
}

export class OperationStatusBackupVaultContext {
  constructor(private readonly ctx: Ctx) {}

  async get(
    resourceGroupName: string,
    vaultName: string,
    operationId: string,
    options?: OperationOptions,
  ): Promise<OperationResource> {
    const path = `${vaultPath(this.ctx, resourceGroupName, vaultName)}/operationStatus/${e(operationId)}`;
    return (await this.ctx.rest.send<OperationResource>("GET", path, options)).body;
  }
}

export class OperationResult {
  constructor(private readonly ctx: Ctx) {}

  /** Location of a POST operation: the OperationJobExtendedInfo once done (202 with no body while running). */
  async get(
    operationId: string,
    location: string,
    options?: OperationOptions,
  ): Promise<OperationJobExtendedInfo | undefined> {
    const path = `/subscriptions/${this.ctx.sub()}/${provider}/locations/${e(location)}/operationResults/${e(operationId)}`;
    const r = await this.ctx.rest.send<OperationJobExtendedInfo | undefined>("GET", path, options);
    return r.status === 202 ? undefined : r.body;
  }
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
