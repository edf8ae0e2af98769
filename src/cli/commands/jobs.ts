import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { progress, shortDuration, table } from "../format.js";
import { jobView, type JobView } from "../jobView.js";
import { sinceOption } from "../optionParsers.js";
import { resolveServer } from "../resolveServer.js";

export function addJobsCommand(program: Command, cli: CliContext): void {
  program
    .command("jobs")
    .description("Backup jobs of the vaults in use, newest first.")
    .option("--server <server>", "only this server (name or resource id)")
    .option("--since <time>", "only jobs started since (ISO 8601, or 30m, 24h, 7d)", sinceOption)
    .option("--top <n>", "at most this many", (value) => Number.parseInt(value, 10), 50)
    .action(async (opts: { server?: string; since?: Date; top: number }) => {
      const services = cli.services();
      const spin = progress(cli.io.stderr, "Listing jobs");
      try {
        // The mapped vaults and those protecting a server in scope.
        const vaults = new Set(Object.values(services.config.vaultMap).map((vault) => vault.toLowerCase()));
        const rows = (await services.sweep({ dryRun: true })).rows;
        for (const row of rows) if (row.vaultId) vaults.add(row.vaultId.toLowerCase());
        const onlyServerId = opts.server ? resolveServer(rows, opts.server).serverId : undefined;
        const jobs: JobView[] = [];
        for (const vault of vaults)
          for await (const job of services.backups.listJobs(
            vault,
            opts.since ? { startedSince: opts.since } : {},
          )) {
            const view = jobView(job);
            if (onlyServerId && view.serverId !== onlyServerId) continue;
            if (opts.since && Date.parse(view.startTime) < opts.since.getTime()) continue;
            jobs.push(view);
          }
        jobs.sort((a, b) => b.startTime.localeCompare(a.startTime));
        const shown = jobs.slice(0, opts.top);
        spin.done();
        if (cli.json()) return cli.write(`${JSON.stringify(shown, null, 2)}\n`);
        if (!shown.length) return cli.write("No jobs.\n");
        cli.write(
          table(
            ["JOB", "STATUS", "SERVER", "OPERATION", "STARTED", "DURATION"],
            shown.map((view) => [
              view.jobId,
              view.status,
              view.server,
              view.operation,
              view.startTime,
              shortDuration(view.durationInMs),
            ]),
          ),
        );
      } finally {
        spin.done();
      }
    });
}
