import type { Command } from "commander";
import type { ComplianceClass } from "../../lib/domain/compliance.js";
import { isFinalKnownJobStatus } from "../../lib/domain/jobStatuses.js";
import { assessWeek, WEEK_IN_MS, weekStart, type WeekJob } from "../../lib/domain/weeklyBackups.js";
import { conflictOf, forcedWarning, weeklyLimitMessage } from "../../lib/backups/weeklyLimit.js";
import type { BackupGateway } from "../../lib/backups/gateway.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCodes } from "../exitCodes.js";
import { lastSegment, progress, shortDuration } from "../format.js";
import { jobView, type JobView } from "../jobView.js";
import { positiveSeconds } from "../optionParsers.js";
import { resolveServer } from "../resolveServer.js";

/** Classes whose server has a backup instance to start a backup on. */
const BACKUP_READY_CLASSES: ReadonlySet<ComplianceClass> = new Set<ComplianceClass>([
  "Protected",
  "ProtectedStale",
  "ProtectedUntagged",
  "WrongPolicy",
]);

const isFinal = (job: JobView | undefined): boolean => job !== undefined && isFinalKnownJobStatus(job.status);

/** The server's backup jobs in the vault since the week before this one, as the weekly limit reads them. */
async function weekJobs(
  backups: BackupGateway,
  vaultId: string,
  serverId: string,
  now: Date,
): Promise<WeekJob[]> {
  const since = new Date(weekStart(now).getTime() - WEEK_IN_MS);
  const jobs: WeekJob[] = [];
  for await (const job of backups.listJobs(vaultId, { startedSince: since })) {
    const p = job.properties;
    if ((p?.dataSourceId ?? "").toLowerCase() !== serverId.toLowerCase() || !p?.startTime) continue;
    jobs.push({
      jobId: job.name ?? lastSegment(job.id),
      startTime: p.startTime,
      status: p.status ?? "Unknown",
      origin: p.isUserTriggered === false ? "policy" : "external",
      ...(p.operation ? { operation: p.operation } : {}),
    });
  }
  return jobs;
}

export function addBackupCommand(program: Command, cli: CliContext): void {
  program
    .command("backup")
    .description("Start an on-demand backup of a protected server; --wait follows the job to its end.")
    .argument("<server>", "server name (unique in scope) or resource id")
    .option("--wait", "wait until the job finishes")
    .option("--timeout <seconds>", "with --wait: give up after this long", positiveSeconds, 3600)
    .option("--retention-tag <tag>", "policy retention tag to keep the backup under")
    .option(
      "--force",
      "start even though this week already has its one vaulted backup (Azure fails the later one of a week)",
    )
    .action(
      async (
        server: string,
        opts: { wait?: boolean; timeout: number; retentionTag?: string; force?: boolean },
      ) => {
        const services = cli.services();
        const spin = progress(cli.io.stderr, `Backing up ${server}`);
        try {
          const target = resolveServer((await services.sweep({ dryRun: true })).rows, server);
          const serverName = lastSegment(target.serverId);
          if (!target.instanceId || !target.vaultId || !BACKUP_READY_CLASSES.has(target.class))
            throw new CliError(
              `${serverName} is not protected (${target.class}).`,
              ExitCodes.refused,
              `pgflex-autoprotect protect ${serverName}`,
            );
          // Azure Backup takes one vaulted backup a week: say so before acting, and what forcing costs.
          const conflict = conflictOf(
            assessWeek(
              await weekJobs(services.backups, target.vaultId, target.serverId, new Date()),
              new Date(),
            ),
            serverName,
          );
          if (conflict && !opts.force)
            throw new CliError(
              weeklyLimitMessage(conflict),
              ExitCodes.refused,
              `Wait until ${conflict.nextPossibleAt}, or start it anyway: pgflex-autoprotect backup ${serverName} --force`,
            );
          const warning = conflict ? forcedWarning(conflict) : undefined;
          if (warning) {
            spin.done();
            cli.io.stderr.write(`Warning: ${warning}\n`);
          }
          const started = await services.backups.startAdhocBackup(
            {
              vaultId: target.vaultId,
              instanceName: lastSegment(target.instanceId),
              ...(target.policyName ? { policyName: target.policyName } : {}),
            },
            opts.retentionTag ? { retentionTag: opts.retentionTag } : {},
          );
          if (!opts.wait) {
            spin.done();
            if (cli.json())
              return cli.write(
                `${JSON.stringify({ jobId: started.jobId, vaultId: target.vaultId, status: "InProgress", ...(warning ? { warning } : {}) }, null, 2)}\n`,
              );
            return cli.write(
              `Backup of ${serverName} started: job ${started.jobId}\nFollow it: pgflex-autoprotect jobs --server ${serverName}\n`,
            );
          }
          const intervalInMs =
            cli.pollIntervalInMs ?? Math.max(50, Math.round(2000 / (services.config.timeScale ?? 1)));
          const deadline = Date.now() + opts.timeout * 1000;
          let job: JobView | undefined;
          for (;;) {
            const read = await services.backups.getJob(target.vaultId, started.jobId);
            job = read ? jobView(read) : job;
            spin.update(job?.status ?? "Starting");
            if (isFinal(job)) break;
            if (Date.now() > deadline) break;
            await new Promise((resolve) => setTimeout(resolve, intervalInMs));
          }
          spin.done();
          const done = isFinal(job);
          cli.setExitCode(
            !done
              ? ExitCodes.timedOut
              : /^completed/i.test(job?.status ?? "")
                ? ExitCodes.ok
                : ExitCodes.attention,
          );
          if (cli.json())
            return cli.write(
              `${JSON.stringify({ ...(job ?? { jobId: started.jobId, status: "InProgress" }), vaultId: target.vaultId, ...(warning ? { warning } : {}) }, null, 2)}\n`,
            );
          const took = job?.durationInMs !== undefined ? ` in ${shortDuration(job.durationInMs)}` : "";
          cli.write(
            `Backup of ${serverName} (job ${started.jobId}): ${job?.status ?? "InProgress"}${took}\n`,
          );
          if (job?.error) cli.write(`  ${job.error}\n`);
          if (!done) cli.write(`Still running after ${opts.timeout}s; it continues in Azure.\n`);
        } finally {
          spin.done();
        }
      },
    );
}
