/**
 * The contract by which a resource provider plugs into the ARM emulator.
 *
 * A provider is a module `dev/emulator/providers/<name>/index.ts` whose default export (or named export
 * `provider`) is an `EmulatorProvider` or a factory `(options: ProviderFactoryOptions) => EmulatorProvider`.
 * The core discovers those modules at start; `startEmulator({ providers })` may pass an explicit list instead.
 *
 * The core owns transport, bearer check, api-version check, throttling, faults, counters, the request log,
 * LRO bookkeeping and operation-status URLs; a provider only declares routes and handles requests.
 *
 * Stability: this file only grows (additive changes). Helpers build against it.
 */

export type HttpMethod = "GET" | "PUT" | "PATCH" | "POST" | "DELETE" | "HEAD";

/** What ARM's throttling and the counters call this request: reads vs writes (DELETE and POST are writes). */
export type OperationKind = "read" | "write";

export interface EmulatorRequest {
  readonly method: HttpMethod;
  /** Path as sent, URL-decoded per segment, without the query string (e.g. `/subscriptions/.../Foo`). */
  readonly path: string;
  /** `path` lower-cased: use it for lookups, since ARM resource ids are case-insensitive. */
  readonly lowerPath: string;
  /** Parsed query; keys as sent. `api-version` is also in `apiVersion`. Repeated keys keep the last value. */
  readonly query: Readonly<Record<string, string>>;
  readonly apiVersion: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON body, `undefined` when there is none (malformed JSON never reaches a provider: 400). */
  readonly body: unknown;
  /** Route template parameters, original casing as sent (e.g. `{ subscriptionId, resourceGroupName }`). */
  readonly params: Readonly<Record<string, string>>;
  /** Value of the `x-ms-request-id` answered for this request (also `x-ms-correlation-request-id`). */
  readonly requestId: string;
  /** Subject of the bearer token (`oid` claim if the token is a JWT, else a fixed emulator principal). */
  readonly callerPrincipalId: string;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless `undefined` (then an empty body). */
  body?: unknown;
}

export type RouteHandler = (
  request: EmulatorRequest,
  context: ProviderContext,
) => EmulatorResponse | Promise<EmulatorResponse>;

export interface RouteDefinition {
  method: HttpMethod;
  /**
   * Path template, matched case-insensitively segment by segment, e.g.
   * `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.DataProtection/backupVaults/{vaultName}`.
   * `{name}` matches one segment; `{*name}` (only first) matches one or more segments (a scope such as
   * `/subscriptions/x/resourceGroups/y`), e.g. `{*scope}/providers/Microsoft.Authorization/roleAssignments`.
   */
  path: string;
  /** Supported api-versions; any other gets 400 `InvalidApiVersionParameter`. */
  apiVersions: readonly string[];
  /** Name used by counters and the request log, e.g. `BackupInstances_CreateOrUpdate` (the spec's operationId). */
  operationName: string;
  /** Defaults: GET/HEAD → read, others → write. */
  kind?: OperationKind;
  handler: RouteHandler;
}

export interface ResponseHelpers {
  json(status: number, body: unknown, headers?: Record<string, string>): EmulatorResponse;
  /** ARM error body. */
  error(
    status: number,
    code: string,
    message: string,
    details?: Array<{ code: string; message: string; target?: string }>,
  ): EmulatorResponse;
  /** 404 `ResourceNotFound` with ARM's message for a resource id. */
  notFound(resourceType: string, resourceName: string, resourceGroupName?: string): EmulatorResponse;
  /** 204/200 without body. */
  empty(status?: number, headers?: Record<string, string>): EmulatorResponse;
}

// ---------- shared state ----------

export type ServerState =
  | "Ready"
  | "Provisioning"
  | "Updating"
  | "Stopped"
  | "Starting"
  | "Stopping"
  | "Dropping"
  | "Disabled"
  | "Restarting"
  | "Inaccessible";

/** A PostgreSQL Flexible Server as stored; `resource` is the ARM representation served by GET. */
export interface ServerRecord {
  /** Resource id with the casing of its creation. */
  id: string;
  subscriptionId: string;
  resourceGroupName: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  /** `properties` of the ARM resource (state, version, fullyQualifiedDomainName, storage, ...). */
  properties: Record<string, unknown> & { state: ServerState };
  sku?: { name: string; tier: string };
  systemData?: Record<string, unknown>;
}

export interface SubscriptionRecord {
  subscriptionId: string;
  displayName: string;
  tenantId: string;
  state: "Enabled" | "Disabled" | "Warned" | "PastDue" | "Deleted";
}

export interface ResourceGroupRecord {
  subscriptionId: string;
  name: string;
  location: string;
  tags: Record<string, string>;
}

export interface RoleAssignmentRecord {
  /** Full id: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`. */
  id: string;
  name: string;
  scope: string;
  /** Full role definition id: `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`. */
  roleDefinitionId: string;
  principalId: string;
  principalType: "User" | "Group" | "ServicePrincipal" | "ForeignGroup" | "Device";
  createdOn: string;
  /** Emulator time (ms) from which checks honour it (RBAC propagation delay). */
  effectiveFromMs?: number;
}

/**
 * Everything the emulator holds. Maps are keyed by lower-cased ids/names; all values are plain JSON so
 * `export()`/`import()` round-trip through seed files.
 */
export interface SharedState {
  readonly subscriptions: Map<string, SubscriptionRecord>;
  /** Key: `"{subscriptionId}/{resourceGroupName}"` lower-cased. */
  readonly resourceGroups: Map<string, ResourceGroupRecord>;
  /** Key: lower-cased server id. */
  readonly servers: Map<string, ServerRecord>;
  /** Key: lower-cased role assignment id. */
  readonly roleAssignments: Map<string, RoleAssignmentRecord>;
  /** Tags of resources that are not servers/resource groups (key: lower-cased resource id). */
  readonly tags: Map<string, Record<string, string>>;
  /** The provider's own slice, created with `init()` on first use and exported under `providers[name]`. */
  slice<T extends object>(providerName: string, init: () => T): T;
  /** Every provider slice, including seeded ones no provider has asked for yet (for cross-provider views such as Resource Graph). */
  listSlices(): Array<[string, object]>;
  /** Creates the resource group (ARM has it implicitly when the seed omits it). */
  ensureResourceGroup(
    subscriptionId: string,
    resourceGroupName: string,
    location?: string,
  ): ResourceGroupRecord;
  getResourceGroup(subscriptionId: string, resourceGroupName: string): ResourceGroupRecord | undefined;
  getSubscription(subscriptionId: string): SubscriptionRecord | undefined;
}

// ---------- time ----------

export interface EmulatorClock {
  /**
   * Emulator time in ms since epoch: starts at real time, runs `timeScale` times faster. Use it for due times
   * and pacing; never put it in a response as a timestamp (see `reported`).
   */
  now(): number;
  /** The current time as reported: ISO 8601 of `reported(now())`, i.e. the wall clock. */
  nowIso(): string;
  /**
   * Wall-clock ms at which emulator instant `emulatedMs` passed: unchanged up to the emulator's start, then
   * the start plus the elapsed emulator time divided by `timeScale`. Monotonic; never after `Date.now()` for an
   * instant not after `now()`. Every timestamp a response carries goes through it; durations do not.
   */
  reported(emulatedMs: number): number;
  /** ISO 8601 of `reported(emulatedMs)`. */
  reportedIso(emulatedMs: number): string;
  /** Speed-up factor (e.g. 100 ⇒ a 60 s service delay takes 0.6 s of real time). */
  readonly timeScale: number;
  /** Real ms for an emulated duration. */
  toRealMs(emulatedMs: number): number;
}

export interface ScheduledTask {
  cancel(): void;
}

export interface Scheduler {
  /** Runs `task` after `delayInMs` of emulator time (i.e. `delayInMs / timeScale` real ms). Errors are logged. */
  after(delayInMs: number, task: () => void | Promise<void>): ScheduledTask;
}

// ---------- long-running operations ----------

export type LroStatus = "Inprogress" | "Succeeded" | "Failed" | "Canceled";

export interface LroOutcome {
  status: "Succeeded" | "Failed" | "Canceled";
  /** For Failed: ARM error (`{code,message}`) placed in the status body's `error`. */
  error?: { code: string; message: string };
  /** Body served by the `Location` (operationResults) URL once finished; default none (204 for results). */
  result?: unknown;
  /** Optional `properties` merged into the status body (e.g. `{ jobId }`). */
  properties?: Record<string, unknown>;
  /** HTTP status of the `Location` URL for a failed operation (default 400). */
  failureStatusCode?: number;
}

export interface StartLroOptions {
  /**
   * Path (no host, no query) of the `Azure-AsyncOperation` status URL WITHOUT the trailing id, e.g.
   * `/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/v/operationStatus`.
   * The core appends `/{operationId}` and serves GETs on it.
   */
  statusPathPrefix: string;
  /** Like `statusPathPrefix`, for the `Location` operationResults URL; omit for no `Location` header. */
  resultPathPrefix?: string;
  /** api-version written in the header URLs. */
  apiVersion: string;
  /** Emulator time until completion (scaled by the clock). */
  durationInMs: number;
  /** Called when the time is up; decides the outcome and applies state changes. Throwing ⇒ Failed/InternalServerError. */
  complete: () => LroOutcome | Promise<LroOutcome>;
  /** Operation name for counters of status polls (default `"<route operationName>_OperationStatus"`). */
  operationName?: string;
  /** Subscription whose throttling buckets the polls use. */
  subscriptionId: string;
}

export interface LroHandle {
  /** base64 of `"<guid>;<guid>"`. */
  readonly operationId: string;
  /** Absolute URLs on the emulator. */
  readonly azureAsyncOperationUrl: string;
  readonly locationUrl?: string;
  /** `{ "Azure-AsyncOperation": ..., "Location"?: ... }` ready to spread into a response. */
  readonly headers: Record<string, string>;
  /** Completes now (before the timer) with the given outcome; used by control API and tests. */
  finish(outcome: LroOutcome): void;
}

export interface LroRecord {
  operationId: string;
  status: LroStatus;
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
  result?: unknown;
  properties?: Record<string, unknown>;
  statusPath: string;
  resultPath?: string;
  apiVersion: string;
}

export interface LroHelpers {
  start(options: StartLroOptions): LroHandle;
  get(operationId: string): LroRecord | undefined;
  /** Body of the status URL: `{id,name,status,startTime,endTime[,error][,properties]}` as in the recording. */
  statusBody(operationId: string): Record<string, unknown> | undefined;
}

// ---------- RBAC ----------

export interface RoleChecker {
  /**
   * True when `principalId` holds `roleDefinitionGuid` (the bare GUID) at `scope` or any parent scope
   * (resource group, subscription, root `/`), honouring the RBAC propagation delay. Case-insensitive.
   */
  hasRole(principalId: string, roleDefinitionGuid: string, scope: string): boolean;
}

// ---------- paging ----------

export interface PageOptions {
  /** Default 100. Overridable per emulator (`pageSize` option) to exercise `nextLink`. */
  pageSize?: number;
}

export interface Pager {
  /**
   * Slices `items` according to the request's `$skipToken` and returns `{ value, nextLink? }`, nextLink
   * being an absolute emulator URL with the same path, api-version and filters plus a new `$skipToken`.
   */
  page<T>(
    request: EmulatorRequest,
    items: readonly T[],
    options?: PageOptions,
  ): { value: T[]; nextLink?: string };
}

// ---------- events ----------

/** One ARM event as Event Grid's system topic would publish it (Event Grid schema; CloudEvents derived). */
export interface ArmEvent {
  /** `Microsoft.Resources.ResourceWriteSuccess` | `Microsoft.Resources.ResourceDeleteSuccess` | ... */
  eventType: string;
  /** The resource id. */
  subject: string;
  subscriptionId: string;
  resourceGroupName?: string;
  /** e.g. `Microsoft.DBforPostgreSQL/flexibleServers/write`. */
  operationName: string;
  /** `data.status` of the event (default `"Succeeded"`). */
  status?: string;
  /** Extra `data` fields (override defaults). */
  data?: Record<string, unknown>;
}

export interface EventPublisher {
  /** Queues the event for every matching subscriber; returns immediately. */
  publish(event: ArmEvent): void;
}

// ---------- servers ----------

export interface ServerLookup {
  /** Case-insensitive lookup by full resource id. */
  get(serverId: string): ServerRecord | undefined;
  list(filter?: { subscriptionId?: string; resourceGroupName?: string }): ServerRecord[];
}

// ---------- the context ----------

export interface ProviderContext {
  readonly state: SharedState;
  readonly clock: EmulatorClock;
  readonly scheduler: Scheduler;
  readonly lro: LroHelpers;
  readonly rbac: RoleChecker;
  readonly servers: ServerLookup;
  readonly pager: Pager;
  readonly events: EventPublisher;
  readonly respond: ResponseHelpers;
  /** `https://127.0.0.1:<port>` */
  baseUrl(): string;
  /** A fresh GUID (deterministic when the emulator has a `faultSeed`). */
  newGuid(): string;
  /** Emulator options relevant to providers. */
  readonly options: ProviderFactoryOptions;
  /** Log line (stderr when `verbose`). */
  log(message: string): void;
}

export interface ProviderFactoryOptions {
  timeScale: number;
  provisioningDelayInMs: number;
  rbacPropagationDelayInMs: number;
  /** Page size for list operations (default 100). */
  pageSize: number;
  /** Free-form per-provider options passed through `startEmulator({ providerOptions: { [name]: ... } })`. */
  providerOptions: Record<string, unknown>;
}

export interface EmulatorProvider {
  /** Unique name; also the key of its state slice in seeds (`providers.<name>`). */
  readonly name: string;
  routes(context: ProviderContext): RouteDefinition[];
  /** Called once after state import (seed) so the provider can reschedule pending transitions. */
  onStateLoaded?(context: ProviderContext): void;
  /**
   * Test and drill controls served under `/_emulator/{name}/...` (loopback, no bearer, no api-version,
   * not throttled, not counted, not faulted). `path` is relative to that prefix, e.g. `/vaults` or
   * `/jobs/{jobId}/finish`; `apiVersions` and `operationName` are ignored. Typed client:
   * `control.invoke(method, "/{name}/...", body)`.
   */
  controlRoutes?(context: ProviderContext): RouteDefinition[];
}

export type EmulatorProviderFactory = (options: ProviderFactoryOptions) => EmulatorProvider;
