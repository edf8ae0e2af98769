import { z } from "zod";
import { GUID_REGEX, isGuid } from "../domain/guid.js";
import { normalizeRegion } from "../domain/region.js";
import { shortestGapInMs, WEEK_IN_MS, WEEKLY_BACKUP_LIMIT } from "../domain/weeklyBackups.js";

/**
 * Every environment variable the app reads, in one list. The config loader, the README table,
 * `local.settings.sample.json` and the infra cross-check test are all driven by this list, so a
 * setting cannot exist in one place and be missing from another.
 */
export interface SettingDefinition<T = unknown> {
  /** Environment variable name. */
  readonly name: string;
  readonly description: string;
  /** A valid value, quoted in error messages and the sample settings file. */
  readonly example: string;
  /** Default used when the variable is unset or empty; `undefined` means optional with no default. */
  readonly defaultValue?: string;
  /** Must be set in Azure (infra sets it); locally a default or the sample file provides it. */
  readonly requiredInAzure: boolean;
  /** Value must never be logged. */
  readonly secret?: boolean;
  readonly schema: z.ZodType<T>;
}

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["true", "false", "1", "0", "yes", "no"].includes(v), "must be true or false")
  .transform((v) => v === "true" || v === "1" || v === "yes");

const positiveInt = z
  .string()
  .trim()
  .regex(/^\d+$/, "must be a whole number")
  .transform(Number)
  .refine((n) => n > 0, "must be greater than zero");

const ncrontab = z
  .string()
  .trim()
  .refine(
    (v) => v.split(/\s+/).length === 6,
    "must be a 6-field NCRONTAB expression (sec min hour day month weekday)",
  );

const httpsUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === "https:" || (u.protocol === "http:" && isLoopback(u.hostname));
    } catch {
      return false;
    }
  }, "must be an https URL (http is accepted only for loopback)");

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

const subscriptionList = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(/[,;\s]+/)
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  )
  .refine((ids) => ids.every(isGuid), "must be a comma-separated list of subscription GUIDs");

/** Storage account or blob container ids, comma-separated (the restore capability parses them again). */
const restoreTargets = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(/[,;\s]+/)
      .map((s) => s.trim().replace(/\/+$/, ""))
      .filter(Boolean),
  )
  .refine(
    (ids) =>
      ids.every((id) =>
        /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[a-z0-9]{3,24}(\/blobServices\/default\/containers\/[a-z0-9-]{3,63})?$/i.test(
          id,
        ),
      ),
    "must be a comma-separated list of storage account or blob container resource ids",
  );

const positiveNumber = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, "must be a number, e.g. 10 or 0.5")
  .transform(Number)
  .refine((n) => n > 0, "must be greater than zero");

const percent = z
  .string()
  .trim()
  .regex(/^\d+$/, "must be a whole number of percent")
  .transform(Number)
  .refine((n) => n >= 1 && n <= 100, "must be between 1 and 100");

/** `latest`, or `random:<days>`: a random recovery point of the last <days> days. */
const restoreTestPoint = z
  .string()
  .trim()
  .toLowerCase()
  .transform((v, ctx) => {
    if (v === "latest") return { kind: "latest" as const };
    const m = /^random:(\d+)$/.exec(v);
    const days = m ? Number(m[1]) : 0;
    if (!m || days < 1) {
      ctx.addIssue({ code: "custom", message: "must be latest or random:<days> with days of 1 or more" });
      return z.NEVER;
    }
    return { kind: "random" as const, days };
  });

/** `value=policyName` pairs separated by commas, or a JSON object. Tag values compare case-insensitively. */
const policyMap = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const out: Record<string, string> = {};
    const pairs = parseMap(v);
    if (!pairs) {
      ctx.addIssue({ code: "custom", message: "must be JSON or comma-separated tagValue=policyName pairs" });
      return z.NEVER;
    }
    for (const [key, value] of pairs) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(value)) {
        ctx.addIssue({ code: "custom", message: `policy name "${value}" is not a valid backup policy name` });
        return z.NEVER;
      }
      out[key.toLowerCase()] = value;
    }
    return out;
  });

/** `region=vaultResourceId` pairs or a JSON object. Regions are normalised (lower-case, no spaces). */
const vaultMap = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const out: Record<string, string> = {};
    const pairs = parseMap(v);
    if (!pairs) {
      ctx.addIssue({
        code: "custom",
        message: "must be JSON or comma-separated region=vaultResourceId pairs",
      });
      return z.NEVER;
    }
    for (const [region, id] of pairs) {
      if (
        !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.DataProtection\/backupVaults\/[^/]+$/i.test(
          id,
        )
      ) {
        ctx.addIssue({ code: "custom", message: `"${id}" is not a Backup vault resource id` });
        return z.NEVER;
      }
      out[normalizeRegion(region)] = id;
    }
    return out;
  });

const scheduledBackups = z
  .string()
  .trim()
  .transform((v, ctx) => {
    try {
      const parsed: unknown = JSON.parse(v);
      const result = z
        .array(
          z.object({
            name: z.string().regex(/^[A-Za-z0-9-]{1,40}$/),
            tag: z.string().min(1),
            value: z.string().min(1),
            schedule: ncrontab,
            retentionTag: z.string().optional(),
          }),
        )
        .safeParse(parsed);
      if (result.success) {
        const tooOften = result.data.map(moreOftenThanWeekly).find(Boolean);
        if (!tooOften) return result.data;
        ctx.addIssue({ code: "custom", message: tooOften });
        return z.NEVER;
      }
      ctx.addIssue({ code: "custom", message: result.error.issues[0]?.message ?? "invalid" });
    } catch {
      ctx.addIssue({ code: "custom", message: "must be a JSON array" });
    }
    return z.NEVER;
  });

/** Why a scheduled backup's NCRONTAB runs more often than weekly, or undefined when it does not. */
function moreOftenThanWeekly(entry: { name: string; schedule: string }): string | undefined {
  let gap: number | undefined;
  try {
    gap = shortestGapInMs(entry.schedule);
  } catch (e) {
    return `entry "${entry.name}": schedule "${entry.schedule}" is not a valid NCRONTAB expression (${e instanceof Error ? e.message : String(e)})`;
  }
  if (gap === undefined || gap >= WEEK_IN_MS) return undefined;
  const every =
    gap >= 86_400_000 ? `${Math.round(gap / 86_400_000)} day(s)` : `${Math.round(gap / 60_000)} minute(s)`;
  return (
    `entry "${entry.name}": schedule "${entry.schedule}" runs more often than weekly (runs as close as ${every} apart); ` +
    `${WEEKLY_BACKUP_LIMIT}. Use a weekly schedule such as "0 0 1 * * 6" (Saturdays 01:00 UTC)`
  );
}

function parseMap(v: string): Array<[string, string]> | undefined {
  if (v === "") return [];
  if (v.startsWith("{")) {
    try {
      const obj: unknown = JSON.parse(v);
      if (!obj || typeof obj !== "object" || Array.isArray(obj)) return undefined;
      const entries = Object.entries(obj as Record<string, unknown>);
      if (entries.some(([, val]) => typeof val !== "string")) return undefined;
      return entries.map(([k, val]) => [k.trim(), String(val).trim()]);
    } catch {
      return undefined;
    }
  }
  const pairs: Array<[string, string]> = [];
  for (const part of v.split(",")) {
    if (!part.trim()) continue;
    const eq = part.indexOf("=");
    if (eq <= 0 || eq === part.length - 1) return undefined;
    pairs.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return pairs;
}

function setting<T, const D extends string | undefined = undefined>(
  def: SettingDefinition<T> & { readonly defaultValue?: D },
): SettingDefinition<T> & { readonly defaultValue: D } {
  return def as SettingDefinition<T> & { readonly defaultValue: D };
}

export const settings = {
  storageConnection: setting({
    name: "AzureWebJobsStorage",
    description:
      "Storage connection string for Tables and Queues (local: Azurite). In Azure leave unset and use the identity-based AzureWebJobsStorage__accountName instead.",
    example: "UseDevelopmentStorage=true",
    requiredInAzure: false,
    secret: true,
    schema: z.string().trim().min(1),
  }),
  storageAccountName: setting({
    name: "AzureWebJobsStorage__accountName",
    description:
      "Storage account name for identity-based connections (Azure). Used when AzureWebJobsStorage is unset.",
    example: "stpgflexprod001",
    requiredInAzure: true,
    schema: z
      .string()
      .trim()
      .regex(/^[a-z0-9]{3,24}$/, "must be 3-24 lower-case letters and digits"),
  }),
  storageTableServiceUri: setting({
    name: "AzureWebJobsStorage__tableServiceUri",
    description:
      "Table service URL for identity-based connections, as the Functions host reads it; infra/ sets it from the cloud's storage suffix so sovereign clouds work. Unset: https://<accountName>.table.core.windows.net (Azure public cloud).",
    example: "https://stpgflexprod001.table.core.usgovcloudapi.net",
    requiredInAzure: false,
    schema: httpsUrl,
  }),
  storageQueueServiceUri: setting({
    name: "AzureWebJobsStorage__queueServiceUri",
    description:
      "Queue service URL for identity-based connections, as the Functions host reads it; infra/ sets it from the cloud's storage suffix so sovereign clouds work. Unset: https://<accountName>.queue.core.windows.net (Azure public cloud).",
    example: "https://stpgflexprod001.queue.core.usgovcloudapi.net",
    requiredInAzure: false,
    schema: httpsUrl,
  }),
  storageClientId: setting({
    name: "AzureWebJobsStorage__clientId",
    description: "Client id of the user-assigned managed identity used for Storage (Azure).",
    example: "00000000-0000-0000-0000-000000000000",
    requiredInAzure: true,
    schema: z.string().trim().regex(GUID_REGEX, "must be a GUID"),
  }),
  azureClientId: setting({
    name: "AZURE_CLIENT_ID",
    description: "Client id of the user-assigned managed identity the app uses for ARM calls (Azure).",
    example: "00000000-0000-0000-0000-000000000000",
    requiredInAzure: true,
    schema: z.string().trim().regex(GUID_REGEX, "must be a GUID"),
  }),
  mode: setting({
    name: "PGFLEX_MODE",
    description:
      "enforce: protect servers and remediate drift. report: record what would be done and change nothing in Azure.",
    example: "report",
    defaultValue: "enforce",
    requiredInAzure: true,
    schema: z.enum(["enforce", "report"]),
  }),
  scopes: setting({
    name: "PGFLEX_SCOPES",
    description:
      "Subscription ids in scope, comma-separated. Empty means every subscription the app's identity can read.",
    example: "11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222",
    defaultValue: "",
    requiredInAzure: true,
    schema: subscriptionList,
  }),
  backupTag: setting({
    name: "PGFLEX_BACKUP_TAG",
    description:
      "Name of the server tag that asks for protection (tag names compare case-insensitively, as in ARM).",
    example: "backup",
    defaultValue: "backup",
    requiredInAzure: true,
    schema: z.string().trim().min(1).max(512),
  }),
  policyMap: setting({
    name: "PGFLEX_POLICY_MAP",
    description:
      "Backup tag value to backup policy name in the region's vault: tagValue=policyName pairs or a JSON object.",
    example: "weekly-3m=pgflex-weekly-3m,gold=pgflex-gold",
    defaultValue: "weekly=pgflex-weekly",
    requiredInAzure: true,
    schema: policyMap,
  }),
  optOutValues: setting({
    name: "PGFLEX_OPT_OUT_VALUES",
    description: "Backup tag values that explicitly opt a server out of protection.",
    example: "none,off,false",
    defaultValue: "none,off",
    requiredInAzure: false,
    schema: z.string().transform((v) =>
      v
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  }),
  vaultMap: setting({
    name: "PGFLEX_VAULT_MAP",
    description:
      "Region to Backup vault resource id: region=vaultId pairs or a JSON object. Regions without an entry fall back to vault discovery by marker tag.",
    example:
      "westeurope=/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-weu",
    defaultValue: "",
    requiredInAzure: true,
    schema: vaultMap,
  }),
  vaultMarkerTag: setting({
    name: "PGFLEX_VAULT_MARKER_TAG",
    description:
      "Tag name that marks Backup vaults this app may use; a vault carrying it serves its own region, looked for in every subscription of PGFLEX_SCOPES and the server's own. Empty disables discovery.",
    example: "pgflex-autoprotect",
    defaultValue: "pgflex-autoprotect",
    requiredInAzure: false,
    schema: z.string().trim(),
  }),
  autoGrantRoles: setting({
    name: "PGFLEX_AUTO_GRANT_ROLES",
    description:
      "Grant the vault identity its two required roles on the server and its resource group when they are missing.",
    example: "true",
    defaultValue: "false",
    requiredInAzure: true,
    schema: bool,
  }),
  createMissingPolicies: setting({
    name: "PGFLEX_CREATE_MISSING_POLICIES",
    description: "Create a mapped policy in the vault when it does not exist, using PGFLEX_POLICY_RETENTION.",
    example: "true",
    defaultValue: "true",
    requiredInAzure: false,
    schema: bool,
  }),
  policyRetention: setting({
    name: "PGFLEX_POLICY_RETENTION",
    description: "ISO 8601 retention of policies this app creates (weekly P1W backups are kept this long).",
    example: "P12W",
    defaultValue: "P12W",
    requiredInAzure: false,
    schema: z
      .string()
      .trim()
      .regex(/^P(\d+[DWMY])+$/, "must be an ISO 8601 duration such as P12W or P3M"),
  }),
  waitForServerDeadlineMinutes: setting({
    name: "PGFLEX_WAIT_FOR_SERVER_MINUTES",
    description: "How long the worker waits for a server to become Ready before recording Failed.",
    example: "120",
    defaultValue: "120",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  transientRetryMinutes: setting({
    name: "PGFLEX_TRANSIENT_RETRY_MINUTES",
    description:
      "How long, in backoff waits (10 s doubling to 5 min), a protection request keeps retrying transient Azure failures (5xx, 429, reset connections) before recording Failed.",
    example: "30",
    defaultValue: "30",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  rbacPropagationMinutes: setting({
    name: "PGFLEX_RBAC_PROPAGATION_MINUTES",
    description:
      "How long validation keeps retrying UserErrorMissingRequiredPermissions after roles were granted.",
    example: "30",
    defaultValue: "30",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  sweepSchedule: setting({
    name: "PGFLEX_SWEEP_SCHEDULE",
    description: "NCRONTAB schedule of the compliance sweep.",
    example: "0 0 3 * * *",
    defaultValue: "0 0 3 * * *",
    requiredInAzure: false,
    schema: ncrontab,
  }),
  pollSchedule: setting({
    name: "PGFLEX_POLL_SCHEDULE",
    description: "NCRONTAB schedule of the job poller.",
    example: "0 */1 * * * *",
    defaultValue: "0 */1 * * * *",
    requiredInAzure: false,
    schema: ncrontab,
  }),
  scheduledBackups: setting({
    name: "PGFLEX_SCHEDULED_BACKUPS",
    description:
      "JSON array of scheduled on-demand backups: {name, tag, value, schedule (NCRONTAB, at most weekly: Azure Backup takes one vaulted backup a week of a server), retentionTag?}.",
    example: '[{"name":"weekly-gold","tag":"tier","value":"gold","schedule":"0 0 1 * * 6"}]',
    defaultValue: "[]",
    requiredInAzure: false,
    schema: scheduledBackups,
  }),
  scheduledBackupsCheckSchedule: setting({
    name: "PGFLEX_SCHEDULED_BACKUPS_TIMER",
    description: "NCRONTAB schedule on which the scheduler checks which scheduled backups are due.",
    example: "0 */5 * * * *",
    defaultValue: "0 */5 * * * *",
    requiredInAzure: false,
    schema: ncrontab,
  }),
  historyRetentionDays: setting({
    name: "PGFLEX_HISTORY_RETENTION_DAYS",
    description: "Job history rows and sweep reports older than this many days are removed daily.",
    example: "180",
    defaultValue: "90",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  staleGraceHours: setting({
    name: "PGFLEX_STALE_GRACE_HOURS",
    description: "Grace added to the policy period before a server's last successful backup counts as stale.",
    example: "24",
    defaultValue: "24",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  restoreTestMaxAgeDays: setting({
    name: "PGFLEX_RESTORE_TEST_MAX_AGE_DAYS",
    description:
      "Compliance sweeps flag a protected server RestoreUntested when it has not passed a restore test for this many days (a separate signal, outside the compliance percentage).",
    example: "35",
    defaultValue: "35",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  alertEventGridEndpoint: setting({
    name: "PGFLEX_ALERT_EVENTGRID_ENDPOINT",
    description:
      "Event Grid topic endpoint that receives alerts as CloudEvents (identity-based). Empty disables.",
    example: "https://evgt-pgflex.westeurope-1.eventgrid.azure.net/api/events",
    defaultValue: "",
    requiredInAzure: false,
    schema: z.union([z.literal(""), httpsUrl]),
  }),
  alertWebhookUrl: setting({
    name: "PGFLEX_ALERT_WEBHOOK_URL",
    description: "Teams/Slack-compatible incoming webhook for alerts. Treated as a secret. Empty disables.",
    example: "https://example.webhook.office.com/webhookb2/...",
    defaultValue: "",
    requiredInAzure: false,
    secret: true,
    schema: z.union([z.literal(""), httpsUrl]),
  }),
  authTenantId: setting({
    name: "PGFLEX_AUTH_TENANT_ID",
    description: "Microsoft Entra tenant whose tokens the API accepts.",
    example: "33333333-3333-3333-3333-333333333333",
    requiredInAzure: true,
    schema: z.string().trim().regex(GUID_REGEX, "must be a GUID"),
  }),
  authAudience: setting({
    name: "PGFLEX_AUTH_AUDIENCE",
    description: "Audience (application ID URI or client id) API tokens must carry.",
    example: "api://pgflex-autoprotect",
    requiredInAzure: true,
    schema: z.string().trim().min(1),
  }),
  authIssuer: setting({
    name: "PGFLEX_AUTH_ISSUER",
    description:
      "Override of the accepted token issuer (default https://login.microsoftonline.com/{tenant}/v2.0).",
    example: "https://login.microsoftonline.com/33333333-3333-3333-3333-333333333333/v2.0",
    requiredInAzure: false,
    schema: z.string().trim().min(1),
  }),
  authJwksUri: setting({
    name: "PGFLEX_AUTH_JWKS_URI",
    description: "Override of the JWKS URL used to verify tokens (local development only).",
    example: "https://127.0.0.1:8443/_emulator/jwks",
    requiredInAzure: false,
    schema: httpsUrl,
  }),
  armEndpoint: setting({
    name: "PGFLEX_ARM_ENDPOINT",
    description: "Azure Resource Manager endpoint. Locally the ARM emulator's URL.",
    example: "https://127.0.0.1:8443",
    defaultValue: "https://management.azure.com",
    requiredInAzure: false,
    schema: httpsUrl,
  }),
  armCredential: setting({
    name: "PGFLEX_ARM_CREDENTIAL",
    description:
      "How ARM tokens are obtained: managedIdentity (Azure), default (DefaultAzureCredential: az login, env), emulator (a fixed local token, only accepted for a loopback PGFLEX_ARM_ENDPOINT).",
    example: "default",
    defaultValue: "managedIdentity",
    requiredInAzure: true,
    schema: z.enum(["managedIdentity", "default", "emulator"]),
  }),
  logLevel: setting({
    name: "PGFLEX_LOG_LEVEL",
    description: "Least severe log level written: debug, info, warn or error.",
    example: "debug",
    defaultValue: "info",
    requiredInAzure: false,
    schema: z.enum(["debug", "info", "warn", "error"]),
  }),
  armBudget: setting({
    name: "PGFLEX_ARM_BUDGET",
    description:
      "Whose token buckets pace ARM calls: shared (every instance draws from one bucket per subscription and kind in the armBudget table, so a scaled-out fleet keeps within ARM's limits; docs/architecture.md, \"The fleet's ARM budget\") or local (each process its own buckets: instances scaled out together can exceed ARM's limits and then wait out its 429s). Processes without Storage (the CLI) always pace locally.",
    example: "local",
    defaultValue: "shared",
    requiredInAzure: false,
    schema: z.enum(["shared", "local"]),
  }),
  useResourceGraph: setting({
    name: "PGFLEX_USE_RESOURCE_GRAPH",
    description:
      "Read servers, backup instances and backup jobs with Azure Resource Graph (one query for all subscriptions): the sweeps' inventory and the job poller's recent jobs. infra/ deploys true; without it each poll reads every vault's whole job list (it takes no $filter).",
    example: "true",
    defaultValue: "false",
    requiredInAzure: false,
    schema: bool,
  }),
  telemetryConnectionString: setting({
    name: "APPLICATIONINSIGHTS_CONNECTION_STRING",
    description:
      "Application Insights to send the app's OpenTelemetry metrics and spans to (Entra authentication with the app's identity; infra/ sets it). Empty: telemetry off.",
    example: "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://...",
    defaultValue: "",
    requiredInAzure: false,
    schema: z.string(),
  }),
  telemetryConsole: setting({
    name: "PGFLEX_TELEMETRY_CONSOLE",
    description:
      "Print the app's OpenTelemetry metrics and spans to the console (local work); ignored when APPLICATIONINSIGHTS_CONNECTION_STRING is set.",
    example: "true",
    defaultValue: "false",
    requiredInAzure: false,
    schema: bool,
  }),
  timeScale: setting({
    name: "PGFLEX_TIME_SCALE",
    description:
      "Divides the app's own waits (LRO polls, backoffs, protection deadlines) to match a time-scaled local ARM emulator. Leave 1 in Azure.",
    example: "100",
    defaultValue: "1",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  restoreTargets: setting({
    name: "PGFLEX_RESTORE_TARGETS",
    description:
      "Blob container or storage account resource ids a restore may write to, comma-separated (a restore copies a whole server's data). Empty: no restores.",
    example:
      "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/strestore/blobServices/default/containers/restores",
    defaultValue: "",
    requiredInAzure: false,
    schema: restoreTargets,
  }),
  restoreTests: setting({
    name: "PGFLEX_RESTORE_TESTS",
    description:
      "NCRONTAB schedule of the restore test plan: each run starts the tests that are due (every protected server once per PGFLEX_RESTORE_TEST_EVERY_DAYS, oldest test first). Empty: no scheduled restore tests.",
    example: "0 0 * * * *",
    defaultValue: "",
    requiredInAzure: false,
    schema: z.union([z.literal(""), ncrontab]),
  }),
  restoreTestTarget: setting({
    name: "PGFLEX_RESTORE_TEST_TARGET",
    description:
      "Blob container id restore tests restore into; must be one of PGFLEX_RESTORE_TARGETS (or in an account listed there). Required when PGFLEX_RESTORE_TESTS is set.",
    example:
      "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/strestore/blobServices/default/containers/restore-tests",
    defaultValue: "",
    requiredInAzure: false,
    schema: z.union([
      z.literal(""),
      z
        .string()
        .trim()
        .regex(
          /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[a-z0-9]{3,24}\/blobServices\/default\/containers\/[a-z0-9-]{3,63}\/?$/i,
          "must be a blob container resource id",
        ),
    ]),
  }),
  restoreTestPoint: setting({
    name: "PGFLEX_RESTORE_TEST_POINT",
    description:
      "Which recovery point a restore test restores: latest, or random:<days> (a random point of the last <days> days).",
    example: "random:30",
    defaultValue: "latest",
    requiredInAzure: false,
    schema: restoreTestPoint,
  }),
  restoreTestEveryDays: setting({
    name: "PGFLEX_RESTORE_TEST_EVERY_DAYS",
    description: "Every protected server is tested at least once in this many days (the plan's cycle).",
    example: "7",
    defaultValue: "7",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  restoreTestConcurrency: setting({
    name: "PGFLEX_RESTORE_TEST_CONCURRENCY",
    description:
      "Restore tests running at once. Default 1: all tests restore into one container, and Azure names a restore's files with a GUID of its own, so restores that write there at the same time cannot be told apart by time alone (the app takes the files first written after the restore's job started); one test also keeps the inspection (zlib, about a core) off the protection work. Tests of under an hour, started hourly, cover some 24 servers a day (168 a 7-day cycle); raise it only with that in mind.",
    example: "2",
    defaultValue: "1",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  restoreTestRowsMaxGb: setting({
    name: "PGFLEX_RESTORE_TEST_ROWS_MAX_GB",
    description:
      "Database archives up to this size (GB) are read whole and their rows counted; larger ones are inspected at the header level (header and table list, at most 1 MiB read).",
    example: "10",
    defaultValue: "10",
    requiredInAzure: false,
    schema: positiveNumber,
  }),
  restoreTestKeepHours: setting({
    name: "PGFLEX_RESTORE_TEST_KEEP_HOURS",
    description:
      "Hours the restored blobs of a test are kept after its verdict before the app deletes them (the infra lifecycle rule is the safety net).",
    example: "24",
    defaultValue: "24",
    requiredInAzure: false,
    schema: positiveInt,
  }),
  restoreTestDropPercent: setting({
    name: "PGFLEX_RESTORE_TEST_DROP_PERCENT",
    description:
      "A table whose rows dropped by more than this percentage since the server's previous passed test makes the test Suspicious.",
    example: "50",
    defaultValue: "50",
    requiredInAzure: false,
    schema: percent,
  }),
} as const;

export type Settings = typeof settings;
export const allSettings: ReadonlyArray<SettingDefinition> = Object.values(settings);
