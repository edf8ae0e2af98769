import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { loadConfig, type Config } from "../lib/config/index.js";
import { NonCompliantClasses } from "../lib/domain/compliance.js";
import type { SweepRow } from "../lib/store/sweeps.js";
import type { BackupJob } from "../lib/backups/gateway.js";
import { ensureError, isRestError } from "../lib/errors.js";
import { runDoctor, type Finding } from "./doctor.js";
import { CliError, ExitCodes, type ExitCode } from "./exitCodes.js";
import { age, lastSegment, progress, table } from "./format.js";
import { protectNow, SETTLED_OK } from "./protect.js";
import { createCliServices, type CliServices } from "./services.js";

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface RunCliOptions {
  /** App settings; default: the process environment (read by src/lib/config). */
  env?: Record<string, string | undefined>;
  io?: CliIo;
  /** Tests pass services built on fakes or on the emulator. */
  services?: (config: Config) => CliServices;
  now?: () => Date;
  /** Poll interval of `backup --wait` (default 2 s divided by PGFLEX_TIME_SCALE, at least 50 ms). */
  pollIntervalInMs?: number;
}

const TERMINAL = new Set(["completed", "completedwithwarnings", "failed", "cancelled"]);
const EXIT_HELP = [
  "",
  "Exit codes:",
  "  0  done, nothing needs attention",
  "  1  unexpected failure",
  "  2  wrong command line",
  "  3  invalid settings, or Azure refused (sign-in, permissions, unknown server)",
  "  4  something needs a person (non-compliant servers, doctor problems, a failed backup)",
  "  5  --wait gave up before the work finished (it continues in Azure)",
  "",
  "Settings come from the environment, as in the app (PGFLEX_SCOPES, PGFLEX_POLICY_MAP, ...);",
  "ARM tokens from DefaultAzureCredential (az login) with PGFLEX_ARM_CREDENTIAL=default.",
].join("\n");

function sinceOption(value: string): Date {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as "m" | "h" | "d"];
    return new Date(Date.now() - Number(relative[1]) * unit);
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed))
    throw new InvalidArgumentError("use an ISO 8601 time or a duration such as 30m, 24h or 7d.");
  return new Date(parsed);
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number of seconds.");
  return n;
}

export interface JobView {
  jobId: string;
  status: string;
  server: string;
  serverId: string;
  operation: string;
  startTime: string;
  endTime?: string;
  durationInMs?: number;
  error?: string;
}

export function jobView(job: BackupJob): JobView {
  const p = job.properties;
  const end = p?.endTime ?? undefined;
  const error = p?.errorDetails?.[0];
  return {
    jobId: job.name ?? lastSegment(job.id),
    status: p?.status ?? "Unknown",
    server: p?.dataSourceName ?? lastSegment(p?.dataSourceId),
    serverId: (p?.dataSourceId ?? "").toLowerCase(),
    operation: p?.operation ?? p?.operationCategory ?? "",
    startTime: p?.startTime ?? "",
    ...(end ? { endTime: end, durationInMs: Date.parse(end) - Date.parse(p?.startTime ?? end) } : {}),
    ...(error ? { error: (error as { message?: string }).message ?? JSON.stringify(error) } : {}),
  };
}

const duration = (ms: number | undefined): string =>
  ms === undefined ? "" : ms < 120_000 ? `${Math.round(ms / 1000)}s` : `${Math.round(ms / 60_000)}m`;

/** Builds the program; each action sets `exit` (commander's own errors become exit code 2). */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<ExitCode> {
  const io: CliIo = options.io ?? { stdout: process.stdout, stderr: process.stderr };
  const now = options.now ?? (() => new Date());
  const out = (text: string): void => void io.stdout.write(text);
  let exit: ExitCode = ExitCodes.ok;
  let services: CliServices | undefined;
  const get = (): CliServices => {
    if (!services) {
      const config = loadConfig(options.env);
      services = (options.services ?? ((c) => createCliServices(c)))(config);
    }
    return services;
  };
  const json = (program: Command): boolean => program.opts<{ json?: boolean }>().json === true;

  /** Finds one server in scope by name or resource id, from a dry-run classification. */
  const resolveServer = async (rows: readonly SweepRow[], wanted: string): Promise<SweepRow> => {
    const key = wanted.toLowerCase();
    const matches = key.startsWith("/subscriptions/")
      ? rows.filter((r) => r.serverId === key)
      : rows.filter((r) => lastSegment(r.serverId) === key);
    if (matches.length === 1 && matches[0]) return matches[0];
    if (matches.length > 1)
      throw new CliError(
        `More than one server is named ${wanted}:\n${matches.map((m) => `  ${m.serverId}`).join("\n")}`,
        ExitCodes.refused,
        "Pass the full resource id instead of the name.",
      );
    throw new CliError(
      `No server ${wanted} in scope.`,
      ExitCodes.refused,
      "List them with: pgflex-autoprotect servers",
    );
  };

  const program = new Command()
    .name("pgflex-autoprotect")
    .description(
      "Keeps Azure Database for PostgreSQL Flexible Servers protected by Azure Backup: inspect and act from a terminal.",
    )
    .option("--json", "machine-readable output on stdout")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_HELP)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  program
    .command("status")
    .description("Compliance in one line per class: how many servers are protected, and what is owed.")
    .action(async () => {
      const spin = progress(io.stderr, "Reading the estate");
      const report = await get()
        .sweep({ dryRun: true })
        .finally(() => spin.done());
      const s = report.summary;
      const owed = Object.entries(s.counts).filter(
        ([c, n]) => NonCompliantClasses.has(c as never) && (n ?? 0) > 0,
      );
      exit = owed.length > 0 || s.failureCount > 0 ? ExitCodes.attention : ExitCodes.ok;
      if (json(program)) {
        const { etag: _e, scopeUnits: _u, ...summary } = s;
        return out(`${JSON.stringify(summary, null, 2)}\n`);
      }
      out(
        `Compliance: ${s.compliancePercent}% of ${s.total} servers in ${s.subscriptionIds.length} subscriptions (${s.mode} mode)\n`,
      );
      out(
        table(
          ["CLASS", "SERVERS"],
          Object.entries(s.counts)
            .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
            .map(([c, n]) => [c, String(n)]),
        ),
      );
      for (const f of s.failures) out(`! ${f.target}: ${f.message}\n`);
      if (owed.length)
        out(
          "Run `pgflex-autoprotect servers` for each server's fix, or `pgflex-autoprotect sweep` to protect what is owed.\n",
        );
    });

  program
    .command("servers")
    .description(
      "Every server in scope with its class, vault, policy, last backup and the fix when one is owed.",
    )
    .addOption(new Option("--class <class>", "only servers of this class"))
    .action(async (opts: { class?: string }) => {
      const spin = progress(io.stderr, "Reading the estate");
      const report = await get()
        .sweep({ dryRun: true })
        .finally(() => spin.done());
      const rows = report.rows
        .filter((r) => !opts.class || r.class.toLowerCase() === opts.class.toLowerCase())
        .sort((a, b) => a.serverId.localeCompare(b.serverId));
      if (json(program)) return out(`${JSON.stringify(rows, null, 2)}\n`);
      const t = now();
      out(
        table(
          ["SERVER", "RESOURCE GROUP", "REGION", "TAG", "CLASS", "VAULT", "POLICY", "LAST BACKUP"],
          rows.map((r) => [
            lastSegment(r.serverId),
            /\/resourcegroups\/([^/]+)/.exec(r.serverId)?.[1] ?? "",
            r.location ?? "",
            r.tagValue ?? "",
            r.class,
            lastSegment(r.vaultId),
            r.policyName ?? r.expectedPolicyName ?? "",
            age(r.lastBackupAt, t),
          ]),
        ),
      );
      for (const r of rows.filter((x) => x.fix))
        out(`\n${lastSegment(r.serverId)}: ${r.reason}\n  Fix: ${r.fix.replace(/\n/g, "\n       ")}\n`);
    });

  program
    .command("protect")
    .description(
      "Protect one server now with the app's own worker (tag, vault, policy, roles, validate, configure).",
    )
    .argument("<server>", "server name (unique in scope) or resource id")
    .option("--timeout <seconds>", "give up waiting after this long", positiveSeconds, 600)
    .action(async (server: string, opts: { timeout: number }) => {
      const svc = get();
      const spin = progress(io.stderr, `Protecting ${server}`);
      try {
        const row = await resolveServer((await svc.sweep({ dryRun: true })).rows, server);
        const result = await protectNow(svc, row.serverId, {
          timeoutInMs: opts.timeout * 1000,
          onProgress: (s) => spin.update(s),
        });
        spin.done();
        exit = result.timedOut
          ? ExitCodes.timedOut
          : SETTLED_OK.has(result.state)
            ? ExitCodes.ok
            : ExitCodes.attention;
        const r = result.row;
        if (json(program))
          return out(
            `${JSON.stringify({ serverId: row.serverId, state: result.state, timedOut: result.timedOut, vaultId: r?.vaultId, policyName: r?.policyName, instanceName: r?.instanceName, error: r?.lastErrorCode ? { code: r.lastErrorCode, message: r.lastErrorMessage, fix: r.fix } : undefined }, null, 2)}\n`,
          );
        out(
          `${lastSegment(row.serverId)}: ${result.state}${r?.policyName ? ` (policy ${r.policyName}` : ""}${r?.vaultId ? `, vault ${lastSegment(r.vaultId)})` : r?.policyName ? ")" : ""}\n`,
        );
        if (result.timedOut)
          out(
            `Still ${result.state} after ${opts.timeout}s; the app continues at the next event or sweep.\n`,
          );
        if (r?.lastErrorMessage) out(`  ${r.lastErrorMessage}\n`);
        if (r?.fix) out(`  Fix: ${r.fix.replace(/\n/g, "\n       ")}\n`);
      } finally {
        spin.done();
      }
    });

  program
    .command("backup")
    .description("Start an on-demand backup of a protected server; --wait follows the job to its end.")
    .argument("<server>", "server name (unique in scope) or resource id")
    .option("--wait", "wait until the job finishes")
    .option("--timeout <seconds>", "with --wait: give up after this long", positiveSeconds, 3600)
    .option("--retention-tag <tag>", "policy retention tag to keep the backup under")
    .action(async (server: string, opts: { wait?: boolean; timeout: number; retentionTag?: string }) => {
      const svc = get();
      const spin = progress(io.stderr, `Backing up ${server}`);
      try {
        const row = await resolveServer((await svc.sweep({ dryRun: true })).rows, server);
        if (
          !row.instanceId ||
          !row.vaultId ||
          !["Protected", "ProtectedStale", "ProtectedUntagged", "WrongPolicy"].includes(row.class)
        )
          throw new CliError(
            `${lastSegment(row.serverId)} is not protected (${row.class}).`,
            ExitCodes.refused,
            `pgflex-autoprotect protect ${lastSegment(row.serverId)}`,
          );
        const started = await svc.backups.startAdhocBackup(
          {
            vaultId: row.vaultId,
            instanceName: lastSegment(row.instanceId),
            ...(row.policyName ? { policyName: row.policyName } : {}),
          },
          opts.retentionTag ? { retentionTag: opts.retentionTag } : {},
        );
        if (!opts.wait) {
          spin.done();
          if (json(program))
            return out(
              `${JSON.stringify({ jobId: started.jobId, vaultId: row.vaultId, status: "InProgress" }, null, 2)}\n`,
            );
          return out(
            `Backup of ${lastSegment(row.serverId)} started: job ${started.jobId}\nFollow it: pgflex-autoprotect jobs --server ${lastSegment(row.serverId)}\n`,
          );
        }
        const interval =
          options.pollIntervalInMs ?? Math.max(50, Math.round(2000 / (svc.config.timeScale ?? 1)));
        const deadline = Date.now() + opts.timeout * 1000;
        let job: JobView | undefined;
        for (;;) {
          const read = await svc.backups.getJob(row.vaultId, started.jobId);
          job = read ? jobView(read) : job;
          spin.update(job?.status ?? "Starting");
          if (job && TERMINAL.has(job.status.toLowerCase())) break;
          if (Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, interval));
        }
        spin.done();
        const done = job !== undefined && TERMINAL.has(job.status.toLowerCase());
        exit = !done
          ? ExitCodes.timedOut
          : /^completed/i.test(job?.status ?? "")
            ? ExitCodes.ok
            : ExitCodes.attention;
        if (json(program))
          return out(
            `${JSON.stringify({ ...(job ?? { jobId: started.jobId, status: "InProgress" }), vaultId: row.vaultId }, null, 2)}\n`,
          );
        out(
          `Backup of ${lastSegment(row.serverId)} (job ${started.jobId}): ${job?.status ?? "InProgress"}${job?.durationInMs !== undefined ? ` in ${duration(job.durationInMs)}` : ""}\n`,
        );
        if (job?.error) out(`  ${job.error}\n`);
        if (!done) out(`Still running after ${opts.timeout}s; it continues in Azure.\n`);
      } finally {
        spin.done();
      }
    });

  program
    .command("jobs")
    .description("Backup jobs of the vaults in use, newest first.")
    .option("--server <server>", "only this server (name or resource id)")
    .option("--since <time>", "only jobs started since (ISO 8601, or 30m, 24h, 7d)", sinceOption)
    .option("--top <n>", "at most this many", (v) => Number.parseInt(v, 10), 50)
    .action(async (opts: { server?: string; since?: Date; top: number }) => {
      const svc = get();
      const spin = progress(io.stderr, "Listing jobs");
      try {
        const vaults = new Set(Object.values(svc.config.vaultMap).map((v) => v.toLowerCase()));
        const rows = (await svc.sweep({ dryRun: true })).rows;
        for (const r of rows) if (r.vaultId) vaults.add(r.vaultId.toLowerCase());
        const only = opts.server ? (await resolveServer(rows, opts.server)).serverId : undefined;
        const jobs: JobView[] = [];
        for (const vault of vaults)
          for await (const j of svc.backups.listJobs(vault, opts.since ? { startedSince: opts.since } : {})) {
            const view = jobView(j);
            if (only && view.serverId !== only) continue;
            if (opts.since && Date.parse(view.startTime) < opts.since.getTime()) continue;
            jobs.push(view);
          }
        jobs.sort((a, b) => b.startTime.localeCompare(a.startTime));
        const shown = jobs.slice(0, opts.top);
        spin.done();
        if (json(program)) return out(`${JSON.stringify(shown, null, 2)}\n`);
        if (!shown.length) return out("No jobs.\n");
        out(
          table(
            ["JOB", "STATUS", "SERVER", "OPERATION", "STARTED", "DURATION"],
            shown.map((j) => [
              j.jobId,
              j.status,
              j.server,
              j.operation,
              j.startTime,
              duration(j.durationInMs),
            ]),
          ),
        );
      } finally {
        spin.done();
      }
    });

  program
    .command("sweep")
    .description("Classify every server in scope and protect what is owed (--dry-run: report only).")
    .option("--dry-run", "classify and report; change nothing")
    .action(async (opts: { dryRun?: boolean }) => {
      const svc = get();
      const spin = progress(io.stderr, "Sweeping");
      const outcomes: Array<{ serverId: string; state: string; fix?: string; timedOut: boolean }> = [];
      try {
        const report = await svc.sweep({
          dryRun: opts.dryRun === true,
          remediate: async (serverId) => {
            spin.update(`protecting ${lastSegment(serverId)}`);
            const r = await protectNow(svc, serverId, {
              timeoutInMs: 5 * 60_000,
              followWaitingForServer: false,
            });
            outcomes.push({
              serverId,
              state: r.state,
              timedOut: r.timedOut,
              ...(r.row?.fix ? { fix: r.row.fix } : {}),
            });
          },
        });
        spin.done();
        const s = report.summary;
        const owed = report.rows.filter((r) => NonCompliantClasses.has(r.class));
        const unresolved = opts.dryRun
          ? owed.length
          : outcomes.filter((o) => !SETTLED_OK.has(o.state)).length +
            owed.filter((r) => r.remediation !== "enqueued").length;
        exit = unresolved > 0 || s.failureCount > 0 ? ExitCodes.attention : ExitCodes.ok;
        if (json(program)) {
          const { etag: _e, scopeUnits: _u, ...summary } = s;
          return out(`${JSON.stringify({ summary, rows: report.rows, protected: outcomes }, null, 2)}\n`);
        }
        out(
          `Sweep${opts.dryRun ? " (dry run)" : ""}: ${s.total} servers, ${s.compliancePercent}% compliant before remediation\n`,
        );
        if (owed.length)
          out(
            table(
              ["SERVER", "CLASS", "REASON"],
              owed.map((r) => [lastSegment(r.serverId), r.class, r.reason]),
            ),
          );
        if (opts.dryRun && s.remediation.wouldEnqueue)
          out(`${s.remediation.wouldEnqueue} servers would be protected; run without --dry-run to do it.\n`);
        for (const o of outcomes)
          out(
            `${lastSegment(o.serverId)}: ${o.state}${o.timedOut ? " (still in progress)" : ""}${o.fix ? `\n  Fix: ${o.fix.replace(/\n/g, "\n       ")}` : ""}\n`,
          );
      } finally {
        spin.done();
      }
    });

  program
    .command("doctor")
    .description("Check a deployment's prerequisites and print each problem with its fix.")
    .action(async () => {
      const spin = progress(io.stderr, "Checking");
      const findings: Finding[] = await runDoctor(get()).finally(() => spin.done());
      const problems = findings.filter((f) => f.status === "problem");
      exit = problems.length ? ExitCodes.attention : ExitCodes.ok;
      if (json(program)) return out(`${JSON.stringify(findings, null, 2)}\n`);
      const mark = { ok: "✔", problem: "✖", warning: "!", info: "i" } as const;
      for (const f of findings) {
        out(`${mark[f.status]} ${f.check}: ${f.message}\n`);
        if (f.fix) out(`    ${f.fix.replace(/\n/g, "\n    ")}\n`);
      }
      out(problems.length ? `${problems.length} problems.\n` : "No problems.\n");
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exit;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 || e.code === "commander.helpDisplayed" || e.code === "commander.version"
        ? ExitCodes.ok
        : ExitCodes.usage;
    }
    if (e instanceof CliError) {
      io.stderr.write(`${e.message}\n${e.fix ? `Fix: ${e.fix}\n` : ""}`);
      return e.exitCode;
    }
    const error = ensureError(e);
    if (error.name === "ConfigError" || error instanceof RangeError) {
      io.stderr.write(`${error.message}\n`);
      return ExitCodes.refused;
    }
    if (isRestError(error) && [401, 403, 404].includes(error.statusCode ?? 0)) {
      io.stderr.write(`Azure refused: ${error.message}\n`);
      return ExitCodes.refused;
    }
    if (error.name === "CredentialUnavailableError" || error.name === "AuthenticationError") {
      io.stderr.write(
        `${error.message}\nFix: sign in with az login, or set PGFLEX_ARM_CREDENTIAL and its settings.\n`,
      );
      return ExitCodes.refused;
    }
    io.stderr.write(`pgflex-autoprotect: ${error.message}\n`);
    return ExitCodes.failed;
  }
}
