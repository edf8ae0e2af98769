import { Option, type Command } from "commander";
import type { CliContext } from "../context.js";
import { age, indentedFix, lastSegment, progress, table } from "../format.js";

export function addServersCommand(program: Command, cli: CliContext): void {
  program
    .command("servers")
    .description(
      "Every server in scope with its class, vault, policy, last backup and the fix when one is owed.",
    )
    .addOption(new Option("--class <class>", "only servers of this class"))
    .action(async (opts: { class?: string }) => {
      const services = cli.services();
      const spin = progress(cli.io.stderr, "Reading the estate");
      const report = await services.sweep({ dryRun: true }).finally(() => spin.done());
      const rows = report.rows
        .filter((row) => !opts.class || row.class.toLowerCase() === opts.class.toLowerCase())
        .sort((a, b) => a.serverId.localeCompare(b.serverId));
      if (cli.json()) return cli.write(`${JSON.stringify(rows, null, 2)}\n`);
      const now = cli.now();
      cli.write(
        table(
          ["SERVER", "RESOURCE GROUP", "REGION", "TAG", "CLASS", "VAULT", "POLICY", "LAST BACKUP"],
          rows.map((row) => [
            lastSegment(row.serverId),
            /\/resourcegroups\/([^/]+)/.exec(row.serverId)?.[1] ?? "",
            row.location ?? "",
            row.tagValue ?? "",
            row.class,
            lastSegment(row.vaultId),
            row.policyName ?? row.expectedPolicyName ?? "",
            age(row.lastBackupAt, now),
          ]),
        ),
      );
      for (const row of rows)
        if (row.fix) cli.write(`\n${lastSegment(row.serverId)}: ${row.reason}\n${indentedFix(row.fix)}\n`);
    });
}
