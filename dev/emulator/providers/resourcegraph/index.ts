import type {
  EmulatorProvider,
  EmulatorRequest,
  ProviderContext,
  ServerRecord,
} from "../../core/provider.js";
import { isObject } from "../../core/json.js";
import { advance } from "../dataprotection/engine.js";
import { instanceResource, jobResource, policyResource, vaultResource } from "../dataprotection/render.js";
import { key, type DataProtectionSlice } from "../dataprotection/state.js";
import { KqlError, leadingType, parseQuery, runQuery } from "./kql.js";

/**
 * Azure Resource Graph over the emulator's shared state: `POST /providers/Microsoft.ResourceGraph/resources`
 * with the KQL subset of ./kql.ts, the `subscriptions` scope and `$top`/`$skipToken` paging. The `resources`
 * table holds the PostgreSQL servers and every ARM resource found in other providers' state slices (Backup
 * vaults, backup instances, policies…), as in Azure where `microsoft.dataprotection/backupvaults/backupinstances`
 * are rows of `resources`. The Data Protection provider's slice is read through its own record layout (and its
 * lazy transitions applied first, as its own routes do); other slices are scanned for ARM-shaped objects.
 *
 * The `recoveryservicesresources` table holds what Azure Backup publishes there: Data Protection backup
 * instances and backup jobs (`microsoft.dataprotection/backupvaults/backupjobs`), each row's `properties` the
 * job's `AzureBackupJob` as `GET …/backupJobs/{id}` answers it (Az PowerShell's
 * `Search-AzDataProtectionJobInAzGraph` reads its rows back as `AzureBackupJobResource`s).
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

/** Vaults, policies and backup instances of the Data Protection provider, rendered as its own routes serve them. */
function dataProtectionRows(
  slice: DataProtectionSlice,
  rows: Map<string, Row>,
  type: string | undefined,
): void {
  const want = (t: string): boolean => type === undefined || type === t;
  if (want("microsoft.dataprotection/backupvaults"))
    for (const v of Object.values(slice.vaults ?? {})) rows.set(key(v.id), toRow(vaultResource(v), v.id));
  if (want("microsoft.dataprotection/backupvaults/backuppolicies"))
    for (const p of Object.values(slice.policies ?? {})) rows.set(key(p.id), toRow(policyResource(p), p.id));
  if (want("microsoft.dataprotection/backupvaults/backupinstances"))
    for (const i of Object.values(slice.instances ?? {}))
      rows.set(key(i.id), toRow(instanceResource(i), i.id));
}

const SERVER_TYPE = "microsoft.dbforpostgresql/flexibleservers";

/**
 * The `resources` table, sorted by id. `type` (from a leading `where type =~ '...'`) skips rendering rows the
 * query would drop anyway: a 10,000-server estate is rendered once per query, not per kind of resource.
 */
function allRows(context: ProviderContext, type: string | undefined): Row[] {
  const slices = liveSlices(context);
  const dp = slices.find(([name]) => name === DATA_PROTECTION);
  // Its transitions are applied lazily on each of its requests; the graph sees the same moment.
  if (dp) advance(context);
  const rows = new Map<string, Row>();
  for (const [id, row] of collectSliceResources(
    slices.filter(([name]) => name !== DATA_PROTECTION),
    "resourcegraph",
  ))
    if (type === undefined || row.type === type) rows.set(id, row);
  if (dp && (type === undefined || type.startsWith("microsoft.dataprotection/")))
    dataProtectionRows(dp[1] as DataProtectionSlice, rows, type);
  if (type === undefined || type === SERVER_TYPE)
    for (const server of context.servers.list()) rows.set(server.id.toLowerCase(), serverRow(server));
  return [...rows.keys()].sort().map((k) => rows.get(k) as Row);
}

const JOB_TYPE = "microsoft.dataprotection/backupvaults/backupjobs";
const INSTANCE_TYPE = "microsoft.dataprotection/backupvaults/backupinstances";

/** The `recoveryservicesresources` table (Data Protection instances and jobs), sorted by id. */
function recoveryServicesRows(context: ProviderContext, type: string | undefined): Row[] {
  const dp = liveSlices(context).find(([name]) => name === DATA_PROTECTION);
  if (!dp) return [];
  advance(context);
  const slice = dp[1] as DataProtectionSlice;
  const rows = new Map<string, Row>();
  if (type === undefined || type === INSTANCE_TYPE)
    for (const i of Object.values(slice.instances ?? {}))
      rows.set(key(i.id), toRow(instanceResource(i), i.id));
  if (type === undefined || type === JOB_TYPE)
    for (const j of Object.values(slice.jobs ?? {}))
      rows.set(key(j.id), toRow(jobResource(context, j), j.id));
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
    const table =
      parsed.table === "recoveryservicesresources"
        ? recoveryServicesRows(context, type)
        : allRows(context, type);
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
