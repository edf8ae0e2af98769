import type { Command } from "commander";
import { NonCompliantClasses } from "../../lib/domain/compliance.js";
import type { SweepReport } from "../../lib/compliance/sweeper.js";
import type { CliContext } from "../context.js";
import { ExitCodes } from "../exitCodes.js";
import { indentedFix, lastSegment, progress, summaryForJson, table } from "../format.js";
import { protectNow, SUCCESSFUL_PROTECT_OUTCOMES } from "../protectNow.js";

interface ProtectOutcome {
  serverId: string;
  state: string;
  fix?: string;
  timedOut: boolean;
}

export function addSweepCommand(program: Command, cli: CliContext): void {
  program
    .command("sweep")
    .description("Classify every server in scope and protect what is owed (--dry-run: report only).")
    .option("--dry-run", "classify and report; change nothing")
    .action(async (opts: { dryRun?: boolean }) => {
      const services = cli.services();
      const spin = progress(cli.io.stderr, "Sweeping");
      const outcomes: ProtectOutcome[] = [];
      try {
        const report = await services.sweep({
          dryRun: opts.dryRun === true,
          remediate: async (serverId) => {
            spin.update(`protecting ${lastSegment(serverId)}`);
            const result = await protectNow(services, serverId, {
              timeoutInMs: 5 * 60_000,
              followWaitingForServer: false,
            });
            outcomes.push({
              serverId,
              state: result.state,
              timedOut: result.timedOut,
              ...(result.row?.fix ? { fix: result.row.fix } : {}),
            });
          },
        });
        spin.done();
        const summary = report.summary;
        const owed = report.rows.filter((row) => NonCompliantClasses.has(row.class));
        const unresolved = opts.dryRun
          ? owed.length
          : outcomes.filter((outcome) => !SUCCESSFUL_PROTECT_OUTCOMES.has(outcome.state)).length +
            owed.filter((row) => row.remediation !== "enqueued").length;
        cli.setExitCode(unresolved > 0 || summary.failureCount > 0 ? ExitCodes.attention : ExitCodes.ok);
        if (cli.json())
          return cli.write(
            `${JSON.stringify({ summary: summaryForJson(summary), rows: report.rows, protected: outcomes }, null, 2)}\n`,
          );
        cli.write(
          `Sweep${opts.dryRun ? " (dry run)" : ""}: ${summary.total} servers, ${summary.compliancePercent}% compliant before remediation\n`,
        );
        if (owed.length)
          cli.write(
            table(
              ["SERVER", "CLASS", "REASON"],
              owed.map((row) => [lastSegment(row.serverId), row.class, row.reason]),
            ),
          );
        writeRestoreUntested(cli, report);
        if (opts.dryRun && summary.remediation.wouldEnqueue)
          cli.write(
            `${summary.remediation.wouldEnqueue} servers would be protected; run without --dry-run to do it.\n`,
          );
        for (const outcome of outcomes)
          cli.write(
            `${lastSegment(outcome.serverId)}: ${outcome.state}${outcome.timedOut ? " (still in progress)" : ""}${outcome.fix ? `\n${indentedFix(outcome.fix)}` : ""}\n`,
          );
      } finally {
        spin.done();
      }
    });
}

/** The RestoreUntested signal, apart from the classes: the servers, or once why none was checked. */
function writeRestoreUntested(cli: CliContext, report: SweepReport): void {
  const signal = report.summary.restoreTests;
  if (!signal) return;
  if (signal.note) cli.write(`${signal.note}\n`);
  const untested = report.rows.filter((row) => row.restoreUntested);
  if (!untested.length) return;
  cli.write(
    `RestoreUntested: ${untested.length} protected server${untested.length === 1 ? "" : "s"} without a passed restore test in ${signal.maxAgeDays} days (not in the compliance percentage)\n`,
  );
  cli.write(
    table(
      ["SERVER", "CLASS", "LAST PASSED TEST"],
      untested.map((row) => [lastSegment(row.serverId), row.class, row.lastRestoreTestPassedAt ?? "never"]),
    ),
  );
}
