import type { Stack } from "./stack.js";
import { ApiCallError, createApiClient, type ApiClient } from "./api.js";
import { poll, type Narrator } from "./console.js";

/** The servers API's view (src/lib/backups/api.ts serverView). */
export interface ServerView {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  state: string;
  policyName?: string;
  vaultId?: string;
  lastError?: { code?: string; message?: string; fix?: string };
  lastBackup: { jobId: string; status?: string; startTime?: string; endTime?: string } | null;
}

interface SweepView {
  id: string;
  status: string;
  total: number;
  compliancePercent: number;
  counts: Record<string, number>;
  remediation: { enqueued: number; wouldEnqueue: number; failed: number };
  diff?: { becameCompliant: number; drifted: number };
}

interface JobView {
  jobId: string;
  status: string;
  serverName: string;
  durationInMs?: number;
  error?: { code?: string; message?: string };
}

/** The restores API's view (src/lib/restore/api.ts restoreView). */
interface RestoreView {
  restoreId: string;
  serverName: string;
  status: string;
  recoveryPointId: string;
  recoveryPointTime: string;
  targetContainerId: string;
  jobId?: string;
  error?: { code?: string; message?: string };
  files?: Array<{ name: string; sizeInBytes: number; kind: string; database?: string }>;
  commands?: string[];
}

/** The restore tests API's view (src/lib/restoreTests/api.ts restoreTestView), the fields the story shows. */
interface RestoreTestView {
  testId: string;
  serverName: string;
  outcome: "Running" | "Passed" | "Failed" | "Suspicious";
  restoreDurationInSeconds?: number;
  inspectionDurationInSeconds?: number;
  timeToRestoreInSeconds?: number;
  databases?: Array<{
    database: string;
    level: "header" | "rows";
    error?: string;
    tables: Array<{ name: string; rows?: number }>;
  }>;
  findings?: Array<{ message: string }>;
  reason?: string;
  fix?: string;
}

interface RecoveryPointView {
  recoveryPointId: string;
  time: string;
  retentionTag?: string;
}

export interface StoryStep {
  name: string;
  outcome: "done" | "skipped" | "failed";
  detail: string;
}

export interface StoryOptions {
  /** Name of the server the story creates (default `shipping-db`). */
  newServerName?: string;
  /** Longest wait of one step (default 45 s). */
  stepTimeoutInMs?: number;
  abortSignal?: AbortSignal;
}

const TRANSIENT = new Set(["Pending", "Validating", "Configuring"]);
const TERMINAL_JOB = new Set(["Completed", "CompletedWithWarnings", "Failed", "Cancelled"]);

/** A route the app does not serve yet: the capability has not landed, so its step is skipped. */
class MissingCapability extends Error {}

function capability<T>(what: string, call: Promise<T>): Promise<T> {
  return call.catch((e: unknown) => {
    if (e instanceof ApiCallError && e.statusCode === 404 && e.code === undefined)
      throw new MissingCapability(`${what} is not served by this build`);
    throw e;
  });
}

/**
 * What `npm start` shows: the estate is swept and the tagged servers get protected, a new tagged server is
 * created and protected through Event Grid, an on-demand backup runs to completion and a second one that week
 * is refused (Azure's one vaulted backup a week, with its time and the `force` option), a server's fix-it
 * message, `orders-db` is restored as files to the demo container (the files and the commands that rebuild the
 * server), a restore test of `orders-db` restores its latest backup again and counts the tables and rows in every
 * archive it wrote, and a second sweep reports. A step whose capability is missing is skipped and says so.
 */
export async function tellStory(
  stack: Stack,
  narrator: Narrator,
  options: StoryOptions = {},
): Promise<StoryStep[]> {
  const api = createApiClient({
    baseUrl: stack.host.url,
    functionKey: stack.host.functionKey,
    token: stack.tokens.operator,
  });
  /** As a Backup.Restore user: restores and restore tests. */
  const restorer = createApiClient({
    baseUrl: stack.host.url,
    functionKey: stack.host.functionKey,
    token: stack.tokens.restorer,
  });
  const timeoutInMs = options.stepTimeoutInMs ?? 45_000;
  const wait = {
    timeoutInMs,
    intervalInMs: 250,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  };
  const steps: StoryStep[] = [];
  const run = async (name: string, body: () => Promise<string>): Promise<void> => {
    try {
      steps.push({ name, outcome: "done", detail: await body() });
    } catch (e) {
      if (e instanceof MissingCapability) {
        narrator.line(`↷ ${name} skipped: ${e.message}.`);
        steps.push({ name, outcome: "skipped", detail: e.message });
      } else {
        steps.push({ name, outcome: "failed", detail: e instanceof Error ? e.message : String(e) });
        if (options.abortSignal?.aborted) throw e;
      }
    }
  };

  if (stack.estate) {
    const { estate } = stack;
    narrator.line(
      `Estate: ${estate.serverCount} PostgreSQL Flexible Servers in ${estate.subscriptionIds.length} subscriptions and ` +
        `${estate.regions.length} regions (${estate.regions.join(", ")}); Backup vaults in ${Object.keys(estate.vaultMap).join(", ")}.`,
    );
  }

  await run("First sweep", async () => {
    const sweep = await sweepOnce(api, narrator, "Compliance sweep of the estate as found", wait);
    return `${sweep.compliancePercent}%`;
  });

  await run("Servers appear", async () => {
    const emulator = stack.emulator;
    if (!emulator) throw new MissingCapability("announcing servers needs the ARM emulator");
    // As if each server had just been written through ARM: Event Grid tells the app about every one.
    const seeded = (await emulator.control.exportState()).servers ?? [];
    for (const s of seeded) {
      if (!s.subscriptionId || !s.resourceGroupName || !s.name) continue;
      const state = (s.properties?.["state"] as string | undefined) ?? s.state;
      await emulator.control.createServer({
        subscriptionId: s.subscriptionId,
        resourceGroupName: s.resourceGroupName,
        name: s.name,
        location: s.location,
        tags: s.tags ?? {},
        ...(state ? { state: state as "Ready" } : {}),
        // Size, replication role...: what decides whether Azure Backup can protect it.
        ...(s.properties ? { properties: s.properties } : {}),
        publishEvent: true,
      });
    }
    const servers = await narrator.step(
      `${seeded.length} servers announced through Event Grid; the app protects the tagged ones`,
      (update) =>
        poll(
          async () => {
            const rows = await listServers(api);
            const settled = rows.filter((s) => !TRANSIENT.has(s.state));
            update(
              `${settled.length}/${seeded.length} settled, ${rows.filter((s) => s.state === "Protected").length} protected`,
            );
            return rows.length >= seeded.length && settled.length === rows.length ? rows : undefined;
          },
          "the protection worker to settle every server",
          wait,
        ),
      (rows) => `Servers: ${summarize(rows)}`,
    );
    return summarize(servers);
  });

  await run("New server", async () => {
    const emulator = stack.emulator;
    const estate = stack.estate;
    if (!emulator || !estate) throw new MissingCapability("creating a server needs the ARM emulator");
    const name = options.newServerName ?? "shipping-db";
    const subscriptionId = estate.subscriptionIds[0] ?? "";
    const resourceGroup = "rg-data-eastus";
    await emulator.control.createServer({
      subscriptionId,
      resourceGroupName: resourceGroup,
      name,
      location: "eastus",
      tags: { backup: "weekly", owner: "logistics" },
      publishEvent: true,
    });
    const server = await narrator.step(
      `New server ${name} (tag backup=weekly) created; Event Grid tells the app`,
      (update) =>
        poll(
          async () => {
            const one = await getServer(api, `${subscriptionId}/${resourceGroup}/${name}`);
            update(one ? one.state : "waiting for the event");
            return one && !TRANSIENT.has(one.state) && one.state !== "WaitingForServer" ? one : undefined;
          },
          `${name} to be protected`,
          wait,
        ),
      (s) =>
        `${name} is ${s.state}${s.policyName ? ` with policy ${s.policyName}` : ""}${s.vaultId ? ` in ${lastSegment(s.vaultId)}` : ""}`,
    );
    return server.state;
  });

  let backedUp: ServerView | undefined;
  await run("On-demand backup", async () => {
    const servers = await listServers(api);
    const target =
      servers.find((s) => s.name === "orders-db" && s.state === "Protected") ??
      servers.find((s) => s.state === "Protected");
    if (!target) throw new Error("no server is Protected, so there is nothing to back up");
    backedUp = target;
    const started = await capability(
      "The backups API",
      api.post<{ jobId: string; status: string }>(
        `servers/${target.subscriptionId}/${target.resourceGroup}/${target.name}/backups`,
        {
          reason: "npm start demo",
        },
      ),
    );
    const job = await narrator.step(
      `On-demand backup of ${target.name} (job ${started.jobId})`,
      (update) =>
        poll(
          async () => {
            const current = await api.get<JobView>(`jobs/${started.jobId}`).catch((e: unknown) => {
              if (e instanceof ApiCallError && e.statusCode === 404) return undefined;
              throw e;
            });
            update(current?.status ?? "Queued");
            return current && TERMINAL_JOB.has(current.status) ? current : undefined;
          },
          `backup job ${started.jobId} to finish`,
          wait,
        ),
      (j) => `Backup of ${target.name}: ${j.status}${j.error?.message ? ` (${j.error.message})` : ""}`,
    );
    return job.status;
  });

  await run("Weekly backup limit", async () => {
    // Azure Backup takes one vaulted backup a week: a second one this week is refused, with its time and `force`.
    const target = backedUp;
    if (!target) throw new Error("no on-demand backup ran, so this week has no backup to meet");
    const path = `servers/${target.subscriptionId}/${target.resourceGroup}/${target.name}/backups`;
    const refused = await api.post(path, { reason: "npm start demo: a second backup this week" }).then(
      () => undefined,
      (e: unknown) => {
        if (e instanceof ApiCallError && e.code === "WeeklyBackupLimit") return e.error;
        throw e;
      },
    );
    if (!refused) throw new Error(`a second backup of ${target.name} this week was accepted`);
    narrator.line(`! Second backup of ${target.name} refused: ${String(refused["message"])}`);
    narrator.line(`  Fix: ${String(refused["fix"])}`);
    return `refused; this week's backup at ${String(refused["thisWeeksBackupAt"])}`;
  });

  await run("Restore as files", async () => {
    // The backup just taken is a recovery point: restore it to the demo container, as an operator would.
    const target = backedUp;
    const container = stack.estate?.restoreTargets[0];
    if (!container) throw new MissingCapability("the estate has no restore container");
    if (!target) throw new Error("no on-demand backup ran, so there is no recovery point to restore");
    const server = `servers/${target.subscriptionId}/${target.resourceGroup}/${target.name}`;
    const points = await capability(
      "The restores API",
      listAll<RecoveryPointView>(api, `${server}/recoveryPoints`),
    );
    const latest = points[0];
    if (!latest) throw new Error(`${target.name} has no recovery point yet`);
    narrator.line(
      `  ${target.name}: ${points.length} recovery point${points.length === 1 ? "" : "s"}, the latest ${latest.time}${latest.retentionTag ? ` (${latest.retentionTag})` : ""}`,
    );
    const started = await capability(
      "The restores API",
      restorer.post<RestoreView>(`${server}/restores`, {
        recoveryPointId: latest.recoveryPointId,
        targetContainerId: container,
      }),
    );
    const ended = await narrator.step(
      `Restore of ${target.name} as files to container ${lastSegment(container)} (job ${started.jobId ?? "?"})`,
      (update) =>
        poll(
          async () => {
            const current = await api.get<RestoreView>(`restores/${started.restoreId}`);
            update(current.status);
            return current.status === "InProgress" || current.status === "Starting" ? undefined : current;
          },
          `restore ${started.restoreId} to finish`,
          wait,
        ),
      (r) => `Restore of ${target.name}: ${r.status}${r.error?.message ? ` (${r.error.message})` : ""}`,
    );
    if (ended.status !== "Completed") throw new Error(`the restore ended ${ended.status}`);
    const databases = (ended.files ?? []).filter((f) => f.kind === "database");
    for (const f of ended.files ?? [])
      narrator.line(`  ${f.name} (${f.sizeInBytes} bytes${f.database ? `, database ${f.database}` : ""})`);
    narrator.line("  Rebuild the server from them:");
    for (const c of ended.commands ?? []) narrator.line(`    ${c}`);
    return `${databases.length} database files and ${(ended.commands ?? []).length} commands`;
  });

  await run("Restore test", async () => {
    // The app's own restore test: restore the latest backup, open every archive, count tables and rows.
    const target = backedUp;
    if (!stack.settings["PGFLEX_RESTORE_TEST_TARGET"])
      throw new MissingCapability("restore tests need PGFLEX_RESTORE_TEST_TARGET");
    if (!target) throw new Error("no on-demand backup ran, so there is no recovery point to test");
    const run = await capability(
      "The restore tests API",
      restorer.post<{ started: RestoreTestView[]; skipped: Array<{ reason: string }> }>("restoreTests", {
        serverId: target.id,
      }),
    );
    const started = run.started[0];
    if (!started)
      throw new Error(
        `the restore test of ${target.name} did not start: ${run.skipped[0]?.reason ?? "no reason given"}`,
      );
    const test = await narrator.step(
      `Restore test of ${target.name}: its latest backup restored again, every archive opened and counted`,
      (update) =>
        poll(
          async () => {
            const current = await api.get<RestoreTestView>(`restoreTests/${started.testId}`);
            update(current.outcome);
            return current.outcome === "Running" ? undefined : current;
          },
          `restore test ${started.testId} to reach a verdict`,
          wait,
        ),
      (t) =>
        `Restore test of ${target.name}: ${t.outcome}` +
        (t.timeToRestoreInSeconds === undefined
          ? ""
          : `, time to restore ${seconds(t.timeToRestoreInSeconds)} (restore ${seconds(t.restoreDurationInSeconds)}, inspection ${seconds(t.inspectionDurationInSeconds)})`),
    );
    const scale = Number(stack.settings["PGFLEX_TIME_SCALE"] ?? "1");
    if (scale > 1 && test.restoreDurationInSeconds !== undefined)
      narrator.line(
        `  The emulator runs ${scale}× faster than Azure: that restore is about ${seconds(test.restoreDurationInSeconds * scale)} in Azure.`,
      );
    for (const d of test.databases ?? []) {
      const tables = d.tables.map(
        (t) => `${t.name} ${t.rows === undefined ? "(rows not counted)" : `${t.rows} rows`}`,
      );
      narrator.line(
        `  Database ${d.database}: ${d.error ? d.error : tables.length ? tables.join(", ") : "no tables"}`,
      );
    }
    for (const f of test.findings ?? []) narrator.line(`  ! ${f.message}`);
    if (test.reason) narrator.line(`  ${test.reason}`);
    if (test.fix) narrator.line(`  Fix: ${test.fix}`);
    if (test.outcome !== "Passed") throw new Error(`the restore test ended ${test.outcome}`);
    return `${test.outcome}: ${(test.databases ?? []).length} databases`;
  });

  await run("Fix-it message", async () => {
    const servers = await listServers(api);
    const broken =
      servers.find((s) => s.state === "MissingPermissions" && s.lastError?.fix) ??
      servers.find((s) => s.lastError?.fix);
    if (!broken) return "none";
    narrator.line(`! ${broken.name} is ${broken.state}: ${broken.lastError?.message ?? ""}`);
    narrator.line(`  Fix: ${broken.lastError?.fix ?? ""}`);
    return broken.name;
  });

  await run("Unsupported server", async () => {
    const servers = await listServers(api);
    const unsupported =
      servers.find((s) => s.state === "Unsupported" && s.lastError?.code === "ReadReplicaNotSupported") ??
      servers.find((s) => s.state === "Unsupported");
    if (!unsupported) return "none";
    narrator.line(`! ${unsupported.name} is Unsupported: ${unsupported.lastError?.message ?? ""}`);
    narrator.line(`  Fix: ${unsupported.lastError?.fix ?? ""}`);
    return unsupported.name;
  });

  await run("Second sweep", async () => {
    const sweep = await sweepOnce(api, narrator, "Compliance sweep reports", wait);
    return `${sweep.compliancePercent}%`;
  });
  return steps;
}

async function sweepOnce(
  api: ApiClient,
  narrator: Narrator,
  label: string,
  wait: { timeoutInMs: number; intervalInMs: number; abortSignal?: AbortSignal },
): Promise<SweepView> {
  const started = await capability("The sweeps API", api.post<SweepView>("sweeps", {}));
  return narrator.step(
    label,
    (update) =>
      poll(
        async () => {
          const sweep = await api.get<SweepView>(`sweeps/${started.id}`);
          update(sweep.status);
          return sweep.status === "Running" ? undefined : sweep;
        },
        `sweep ${started.id}`,
        wait,
      ),
    (s) =>
      `Sweep ${s.id}: ${s.total} servers, ${s.compliancePercent}% compliant` +
      (s.remediation.enqueued ? `, ${s.remediation.enqueued} protections started` : "") +
      (s.diff && (s.diff.becameCompliant || s.diff.drifted)
        ? ` (${s.diff.becameCompliant} became compliant, ${s.diff.drifted} drifted)`
        : ""),
  );
}

/** A page of one of the app's lists. */
export interface ApiPage<T> {
  value: T[];
  continuationToken?: string;
  nextLink?: string;
}

/**
 * The path (under /api/) of the page after `page` of the list read at `path`: the nextLink's path and query
 * when it is under /api/ (the client's origin, key and token go with it), else `path` with the page's
 * continuationToken (its filters and `top` kept). Undefined on the last page.
 */
export function nextPagePath(path: string, page: Omit<ApiPage<unknown>, "value">): string | undefined {
  if (page.nextLink) {
    const next = new URL(page.nextLink, "http://localhost/api/");
    if (next.pathname.startsWith("/api/")) return next.pathname.slice("/api/".length) + next.search;
  }
  if (!page.continuationToken) return undefined;
  const next = new URL(path, "http://localhost/api/");
  next.searchParams.set("continuationToken", page.continuationToken);
  return next.pathname.slice("/api/".length) + next.search;
}

/** Every item of a paged list: pages are followed until the API gives no next one. */
export async function listAll<T>(
  api: ApiClient,
  path: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  for (let next: string | undefined = path; next;) {
    const page: ApiPage<T> = await api.get<ApiPage<T>>(next, options);
    items.push(...(page.value ?? []));
    next = nextPagePath(path, page);
    // A link that comes back would loop forever.
    if (next !== undefined && seen.has(next))
      throw new Error(`GET /api/${path}: the API returned the same next page twice (${next}).`);
    if (next !== undefined) seen.add(next);
  }
  return items;
}

function listServers(api: ApiClient): Promise<ServerView[]> {
  return capability("The servers API", listAll<ServerView>(api, "servers"));
}

async function getServer(api: ApiClient, path: string): Promise<ServerView | undefined> {
  try {
    return await api.get<ServerView>(`servers/${path}`);
  } catch (e) {
    if (e instanceof ApiCallError && e.statusCode === 404 && e.code === "ServerNotFound") return undefined;
    throw e;
  }
}

export function summarize(servers: readonly ServerView[]): string {
  const byState = new Map<string, number>();
  for (const s of servers) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
  return [...byState.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
}

/** Seconds as a user reads them: `0.05 s`, `3.6 s`, `2 min 48 s`. */
function seconds(s: number | undefined): string {
  if (s === undefined) return "? s";
  if (s < 1) return `${Math.round(s * 100) / 100} s`;
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

const lastSegment = (id: string): string => id.split("/").pop() ?? id;
