import type { Command } from "commander";
import { NonCompliantClasses } from "../../lib/domain/compliance.js";
import type { CliContext } from "../context.js";
import { ExitCodes } from "../exitCodes.js";
import { progress, summaryForJson, table } from "../format.js";

export function addStatusCommand(program: Command, cli: CliContext): void {
  program
    .command("status")
    .description("Compliance in one line per class: how many servers are protected, and what is owed.")
    .action(async () => {
      const services = cli.services();
      const spin = progress(cli.io.stderr, "Reading the estate");
      const report = await services.sweep({ dryRun: true }).finally(() => spin.done());
      const summary = report.summary;
      const owed = Object.entries(summary.counts).filter(
        ([complianceClass, count]) => NonCompliantClasses.has(complianceClass as never) && (count ?? 0) > 0,
      );
      cli.setExitCode(owed.length > 0 || summary.failureCount > 0 ? ExitCodes.attention : ExitCodes.ok);
      if (cli.json()) return cli.write(`${JSON.stringify(summaryForJson(summary), null, 2)}\n`);
      // Deleted counts instances whose server is gone: history, not servers.
      const servers = summary.total - (summary.counts.Deleted ?? 0);
      cli.write(
        `Compliance: ${summary.compliancePercent}% of ${servers} servers in ${summary.subscriptionIds.length} subscriptions (${summary.mode} mode)\n`,
      );
      cli.write(
        table(
          ["CLASS", "SERVERS"],
          Object.entries(summary.counts)
            .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
            .map(([complianceClass, count]) => [complianceClass, String(count)]),
        ),
      );
      for (const failure of summary.failures) cli.write(`! ${failure.target}: ${failure.message}\n`);
      if (owed.length)
        cli.write(
          "Run `pgflex-autoprotect servers` for each server's fix, or `pgflex-autoprotect sweep` to protect what is owed.\n",
        );
    });
}
