import type {
  EmulatorProvider,
  EmulatorRequest,
  ProviderContext,
  ServerRecord,
} from "../../core/provider.js";
import { isObject } from "../../core/json.js";
import { advance } from "../dataprotection/engine.js";
import { allInstances } from "../dataprotection/instanceIndex.js";
import { instanceResource, jobResource, policyResource, vaultResource } from "../dataprotection/render.js";
import { key, type DataProtectionSlice } from "../dataprotection/state.js";
import { KqlError, leadingType, parseQuery, runQuery } from "./kql.js";

/**
 * Azure Resource Graph over the emulator's shared state: `POST /providers/Microsoft.ResourceGraph/resources`
 * with the KQL subset of ./kql.ts, the `subscriptions` scope and `$top`/`$skipToken` paging. Every ARM resource
 * the emulator holds is a row of exactly one table, the one Azure publishes its type in ({@link tableOf}):
 *
 * - `resources`: tracked resources, the PostgreSQL servers and Backup vaults (az CLI's
 *   `az dataprotection backup-vault list-from-resourcegraph` reads vaults from `resources`), and every other
 *   ARM-shaped resource found in other providers' state slices.
 * - `recoveryservicesresources`: what Azure Backup publishes there and only there (Microsoft's "Query your
 *   backups using Azure Resource Graph": the `RecoveryServicesResources` table holds backup instances, jobs and
 *   policies; `Resources` the top-level resources): Data Protection backup instances (Az PowerShell's
 *   `Search-AzDataProtectionBackupInstanceInAzGraph` and az CLI's `backup-instance list-from-resourcegraph`
 *   query `RecoveryServicesResources | where type =~ 'microsoft.dataprotection/backupvaults/backupinstances'`
 *   and read `properties.currentProtectionState`, `properties.dataSourceInfo.resourceID`), backup policies and
 *   backup jobs (`Search-AzDataProtectionJobInAzGraph`). Each row's `properties` is the resource's properties as
 *   its `GET` answers them (an instance's `protectionStatus`, `currentProtectionState`, `dataSourceInfo`,
 *   `policyInfo`; a job's `AzureBackupJob`), which those cmdlets read back as the resources' own models.
 *
 * The Data Protection provider's slice is read through its own record layout (and its lazy transitions applied
 * first, as its own routes do); other slices are scanned for ARM-shaped objects.
 */
export const RESOURCE_GRAPH_API_VERSIONS = [
  "2021-03-01",
  "2022-10-01",
  "2024-04-01",
  "2021-06-01-preview",
] as const;
/** ARG answers at most 1000 rows per page; without `$top` it answers 100. */
const MAX_TOP = 1000;
const DEFAULT_TOP = 100;

type Row = Record<string, unknown>;

/** `microsoft.dataprotection/backupvaults/backupinstances` from an id. */
export function typeFromId(id: string): string | undefined {
  const m = /\/providers\/([^/]+)\/(.+)$/i.exec(id);
  if (!m) return undefined;
  const segments = (m[2] as string).split("/");
  if (segments.length % 2 !== 0) return undefined;
  const types = segments.filter((_, i) => i % 2 === 0);
  return `${m[1]}/${types.join("/")}`.toLowerCase();
}

function toRow(resource: Record<string, unknown>, id: string): Row {
  const sub = /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] ?? "";
  const rg = /\/resourcegroups\/([^/]+)/i.exec(id)?.[1] ?? "";
  return {
    id,
    name: resource.name ?? id.slice(id.lastIndexOf("/") + 1),
    type: typeFromId(id) ?? String(resource.type ?? "").toLowerCase(),
    tenantId: "",
    kind: resource.kind ?? "",
    location:
      typeof resource.location === "string" ? resource.location.replace(/\s+/g, "").toLowerCase() : "",
    resourceGroup: rg.toLowerCase(),
    subscriptionId: sub.toLowerCase(),
    managedBy: "",
    sku: resource.sku ?? null,
    plan: null,
    properties: resource.properties ?? {},
    tags: resource.tags ?? {},
    identity: resource.identity ?? null,
    zones: null,
    extendedLocation: null,
  };
}

function serverRow(server: ServerRecord): Row {
  return toRow(
    {
      name: server.name,
      location: server.location,
      tags: server.tags,
      sku: server.sku,
      properties: server.properties,
      type: "Microsoft.DBforPostgreSQL/flexibleServers",
    },
    server.id,
  );
}

/**
 * Every ARM resource kept in provider slices: objects with an `id` like `/subscriptions/.../providers/...`.
 * Walks generically so it does not depend on another provider's internal layout.
 */
function collectSliceResources(slices: Iterable<[string, object]>, skip: string): Map<string, Row> {
  const found = new Map<string, Row>();
  const visit = (value: unknown, depth: number): void => {
    if (depth > 8) return;
    if (Array.isArray(value)) {
      for (const v of value) visit(v, depth + 1);
      return;
    }
    if (!isObject(value)) return;
    const id = value.id;
    if (typeof id === "string" && /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\//i.test(id)) {
      const key = id.toLowerCase();
      const existing = found.get(key);
      // Prefer the fullest representation (an ARM resource body over a bare reference).
      if (
        !existing ||
        (!("properties" in existing && Object.keys(existing.properties as object).length) &&
          "properties" in value)
      ) {
        found.set(key, toRow(value, id));
      }
    }
    for (const [k, v] of Object.entries(value)) {
      if (k === "properties" && typeof id === "string") continue; // a resource's own property bag holds references, not resources
      visit(v, depth + 1);
    }
  };
  for (const [name, slice] of slices) if (name !== skip) visit(slice, 0);
  return found;
}

const DATA_PROTECTION = "dataprotection";

const VAULT_TYPE = "microsoft.dataprotection/backupvaults";
const POLICY_TYPE = "microsoft.dataprotection/backupvaults/backuppolicies";
const INSTANCE_TYPE = "microsoft.dataprotection/backupvaults/backupinstances";
const JOB_TYPE = "microsoft.dataprotection/backupvaults/backupjobs";
const SERVER_TYPE = "microsoft.dbforpostgresql/flexibleservers";

/** Resource types Azure Backup publishes in `RecoveryServicesResources` (and not in `resources`). */
const RECOVERY_SERVICES_TYPES: ReadonlySet<string> = new Set([POLICY_TYPE, INSTANCE_TYPE, JOB_TYPE]);

type Table = "resources" | "recoveryservicesresources";

/** The one table Azure publishes rows of a (lower-cased) resource type in. */
function tableOf(type: string): Table {
  return RECOVERY_SERVICES_TYPES.has(type) ? "recoveryservicesresources" : "resources";
}

function liveSlices(context: ProviderContext): Array<[string, object]> {
  const state = context.state as unknown as {
    providerSlices?: () => Map<string, object>;
    export?: () => { providers?: Record<string, unknown> };
  };
  const live = new Map(state.providerSlices ? state.providerSlices() : []);
  if (!live.has(DATA_PROTECTION) && state.export) {
    // Seeded slices not yet claimed by their provider (after start or a state import). Claiming one returns
    // the seeded object itself (init is not called), so its provider shares it later; done once per import.
    for (const [name, value] of Object.entries(state.export().providers ?? {})) {
      if (live.has(name) || !isObject(value)) continue;
      live.set(
        name,
        context.state.slice(name, () => value),
      );
    }
  }
  return [...live.entries()];
}

/** Vaults, policies, backup instances and jobs of the Data Protection provider, rendered as its own routes serve them. */
function dataProtectionRows(
  context: ProviderContext,
  slice: DataProtectionSlice,
  rows: Map<string, Row>,
  want: (type: string) => boolean,
): void {
  if (want(VAULT_TYPE))
    for (const v of Object.values(slice.vaults ?? {})) rows.set(key(v.id), toRow(vaultResource(v), v.id));
  if (want(POLICY_TYPE))
    for (const p of Object.values(slice.policies ?? {})) rows.set(key(p.id), toRow(policyResource(p), p.id));
  if (want(INSTANCE_TYPE))
    for (const i of slice.instances ? allInstances(slice) : [])
      rows.set(key(i.id), toRow(instanceResource(i), i.id));
  if (want(JOB_TYPE))
    for (const j of Object.values(slice.jobs ?? {}))
      rows.set(key(j.id), toRow(jobResource(context, j), j.id));
}

/**
 * The rows of one table, sorted by id. `type` (from a leading `where type =~ '...'`) skips rendering rows the
 * query would drop anyway: a 10,000-server estate is rendered once per query, not per kind of resource.
 */
function tableRows(context: ProviderContext, table: Table, type: string | undefined): Row[] {
  const want = (t: string): boolean => (type === undefined || type === t) && tableOf(t) === table;
  const slices = liveSlices(context);
  const dp = slices.find(([name]) => name === DATA_PROTECTION);
  // Its transitions are applied lazily on each of its requests; the graph sees the same moment.
  if (dp) advance(context);
  const rows = new Map<string, Row>();
  for (const [id, row] of collectSliceResources(
    slices.filter(([name]) => name !== DATA_PROTECTION),
    "resourcegraph",
  ))
    if (want(String(row.type))) rows.set(id, row);
  if (dp && (type === undefined || type.startsWith("microsoft.dataprotection/")))
    dataProtectionRows(context, dp[1] as DataProtectionSlice, rows, want);
  if (want(SERVER_TYPE))
    for (const server of context.servers.list()) rows.set(server.id.toLowerCase(), serverRow(server));
  return [...rows.keys()].sort().map((k) => rows.get(k) as Row);
}

interface QueryBody {
  query?: unknown;
  subscriptions?: unknown;
  managementGroups?: unknown;
  options?: { $top?: unknown; $skip?: unknown; $skipToken?: unknown; resultFormat?: unknown };
}

/** Results of recent queries, so later pages slice the same snapshot instead of recomputing it (as ARG pages do). */
interface Snapshot {
  rows: Row[];
}
const MAX_SNAPSHOTS = 32;

function encodeToken(snapshot: string, skip: number): string {
  return Buffer.from(JSON.stringify({ s: snapshot, skip }), "utf8").toString("base64");
}

function decodeToken(token: string): { snapshot?: string; skip: number } | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { s?: unknown; skip?: unknown };
    if (typeof v.skip !== "number" || !Number.isInteger(v.skip) || v.skip < 0) return undefined;
    return { skip: v.skip, ...(typeof v.s === "string" ? { snapshot: v.s } : {}) };
  } catch {
    return undefined;
  }
}

function handleQuery(request: EmulatorRequest, context: ProviderContext, snapshots: Map<string, Snapshot>) {
  const body = (request.body ?? {}) as QueryBody;
  if (typeof body.query !== "string" || body.query.trim() === "") {
    return context.respond.error(
      400,
      "BadRequest",
      "Please provide below info when asking for support: the query is required.",
    );
  }
  let parsed;
  try {
    parsed = parseQuery(body.query);
  } catch (e) {
    if (e instanceof KqlError) {
      return context.respond.error(
        400,
        "BadRequest",
        "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error prior to retrying.",
        [{ code: "InvalidQuery", message: e.message }],
      );
    }
    throw e;
  }
  if (
    body.subscriptions !== undefined &&
    (!Array.isArray(body.subscriptions) || body.subscriptions.some((s) => typeof s !== "string"))
  ) {
    return context.respond.error(
      400,
      "BadRequest",
      "The 'subscriptions' property must be an array of subscription ids.",
    );
  }
  const subs = Array.isArray(body.subscriptions)
    ? new Set((body.subscriptions as string[]).map((s) => s.toLowerCase()))
    : undefined;
  const options = body.options ?? {};
  const top = Math.min(
    MAX_TOP,
    typeof options.$top === "number" && options.$top > 0 ? options.$top : DEFAULT_TOP,
  );
  let skip = typeof options.$skip === "number" && options.$skip > 0 ? options.$skip : 0;
  let snapshotId: string | undefined;
  if (typeof options.$skipToken === "string" && options.$skipToken) {
    const decoded = decodeToken(options.$skipToken);
    if (decoded === undefined) return context.respond.error(400, "BadRequest", "The $skipToken is invalid.");
    skip = decoded.skip;
    snapshotId = decoded.snapshot;
  }
  let result = snapshotId ? snapshots.get(snapshotId)?.rows : undefined;
  if (!result) {
    const type = leadingType(parsed);
    const table = tableRows(
      context,
      parsed.table === "recoveryservicesresources" ? "recoveryservicesresources" : "resources",
      type,
    );
    const scoped = table.filter((r) => !subs || subs.has(String(r.subscriptionId)));
    result = runQuery(parsed, scoped);
    snapshotId = context.newGuid();
    snapshots.set(snapshotId, { rows: result });
    while (snapshots.size > MAX_SNAPSHOTS) snapshots.delete(snapshots.keys().next().value as string);
  }
  const data = result.slice(skip, skip + top);
  const next = skip + top < result.length ? encodeToken(snapshotId as string, skip + top) : undefined;
  return context.respond.json(200, {
    totalRecords: result.length,
    count: data.length,
    data,
    facets: [],
    resultTruncated: "false",
    ...(next ? { $skipToken: next } : {}),
  });
}

export function createResourceGraphProvider(): EmulatorProvider {
  const snapshots = new Map<string, Snapshot>();
  return {
    name: "resourcegraph",
    routes: () => [
      {
        method: "POST",
        path: "/providers/Microsoft.ResourceGraph/resources",
        apiVersions: RESOURCE_GRAPH_API_VERSIONS,
        operationName: "Resources",
        kind: "read",
        handler: (request, context) => handleQuery(request, context, snapshots),
      },
    ],
  };
}

export default createResourceGraphProvider;
