import type { Command } from "commander";
import {
  RESTORE_TEST_OUTCOMES,
  type RestoreTestOutcome,
  type RestoreTestRecord,
} from "../../lib/restoreTests/model.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCodes } from "../exitCodes.js";
import { age, indentedFix, progress, shortDuration, table } from "../format.js";
import { positiveSeconds } from "../optionParsers.js";
import { asCliError } from "../restoreTarget.js";
import { resolveServer } from "../resolveServer.js";

const seconds = (s: number | undefined) => (s === undefined ? "" : shortDuration(s * 1000));

/** One test as a DBA reads it: the outcome, the times, then per database its tables and rows. */
export function describeRestoreTest(t: RestoreTestRecord): string {
  const lines = [
    `Restore test ${t.testId} of ${t.serverName}: ${t.outcome}${t.timeToRestoreInSeconds !== undefined ? `, time to restore ${seconds(t.timeToRestoreInSeconds)} (restore ${seconds(t.restoreDurationInSeconds)}, inspection ${seconds(t.inspectionDurationInSeconds)})` : ""}`,
  ];
  if (t.recoveryPointId)
    lines.push(
      `  Recovery point ${t.recoveryPointId} (${t.recoveryPointTime ?? ""}, ${t.recoveryPointAgeInHours ?? "?"} h old at the test)${t.restoreId ? `, restore ${t.restoreId}` : ""}`,
    );
  for (const d of t.databases ?? []) {
    lines.push(
      `  Database ${d.database} (${d.archiveBytes} bytes, ${d.level === "rows" ? "rows counted" : "header only"})${d.error ? `: ${d.error}` : ""}`,
    );
    for (const table of d.tables)
      lines.push(
        `    ${table.name}  ${table.rows === undefined ? "rows not counted" : `${table.rows} rows`}`,
      );
  }
  for (const f of t.findings ?? []) lines.push(`  ${f.kind}: ${f.message}`);
  if (t.reason) lines.push(`  ${t.reason}`);
  if (t.fix) lines.push(indentedFix(t.fix));
  return `${lines.join("\n")}\n`;
}

export function addRestoreTestCommands(program: Command, cli: CliContext): void {
  program
    .command("restore-test")
    .description(
      "Test that a protected server's backup restores: restore it into PGFLEX_RESTORE_TEST_TARGET, inspect every database archive, compare with the last passed test (recorded in the app's restoreTests table). Without a server: run the plan now.",
    )
    .argument("[server]", "server name (unique in scope) or resource id")
    .option("--wait", "follow the test until its verdict, then print its tables and rows")
    .option("--timeout <seconds>", "with --wait: give up after this long", positiveSeconds, 3600)
    .action(async (server: string | undefined, opts: { wait?: boolean; timeout: number }) => {
      const services = cli.services();
      const spin = progress(cli.io.stderr, `Restore test${server ? ` of ${server}` : "s"}`);
      try {
        const serverId = server
          ? server.startsWith("/subscriptions/")
            ? server.toLowerCase()
            : resolveServer((await services.sweep({ dryRun: true })).rows, server).serverId
          : undefined;
        const service = await services.restoreTests();
        const run = await service
          .run({ ...(serverId ? { serverId } : {}), requestedBy: "cli" })
          .catch((e: unknown) => {
            throw asCliError(e);
          });
        let tests = run.started;
        if (opts.wait && tests.length) {
          const timeScale = services.config.timeScale ?? 1;
          const intervalInMs = cli.pollIntervalInMs ?? Math.max(50, Math.round(5000 / timeScale));
          const deadline = Date.now() + opts.timeout * 1000;
          while (tests.some((t) => t.outcome === "Running") && Date.now() <= deadline) {
            spin.update(`${tests.filter((t) => t.outcome === "Running").length} running`);
            await new Promise((resolve) => setTimeout(resolve, intervalInMs));
            await service.advance();
            tests = await Promise.all(tests.map(async (t) => (await service.get(t.testId)) ?? t));
          }
        }
        spin.done();
        const running = tests.some((t) => t.outcome === "Running");
        const bad = tests.some((t) => t.outcome === "Failed" || t.outcome === "Suspicious");
        cli.setExitCode(
          bad || (server && tests.length === 0)
            ? ExitCodes.attention
            : opts.wait && running
              ? ExitCodes.timedOut
              : ExitCodes.ok,
        );
        if (cli.json())
          return cli.write(`${JSON.stringify({ started: tests, skipped: run.skipped }, null, 2)}\n`);
        for (const t of tests) cli.write(describeRestoreTest(t));
        for (const s of run.skipped) cli.write(`Skipped ${s.serverId}: ${s.reason}\n`);
        if (!tests.length && !run.skipped.length) cli.write("No protected server in scope to test.\n");
        if (opts.wait && running)
          cli.write(`Still running after ${opts.timeout}s; the app's advance timer finishes it.\n`);
      } finally {
        spin.done();
      }
    });

  program
    .command("restore-tests")
    .description("List recorded restore tests, newest first (the app's restoreTests table).")
    .option("--server <server>", "only this server (resource id)")
    .option(
      "--outcome <outcome>",
      `only tests with this outcome (${RESTORE_TEST_OUTCOMES.join(", ")})`,
      (v): RestoreTestOutcome => {
        const outcome = RESTORE_TEST_OUTCOMES.find((o) => o.toLowerCase() === v.toLowerCase());
        if (!outcome)
          throw new CliError(
            `--outcome "${v}" is not an outcome.`,
            ExitCodes.usage,
            `Use one of ${RESTORE_TEST_OUTCOMES.join(", ")}.`,
          );
        return outcome;
      },
    )
    .option(
      "--top <n>",
      "at most this many",
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 1000)
          throw new CliError(
            `--top "${v}" is not a whole number from 1 to 1000.`,
            ExitCodes.usage,
            "e.g. --top 20",
          );
        return n;
      },
      50,
    )
    .action(async (opts: { server?: string; outcome?: RestoreTestOutcome; top: number }) => {
      const service = await cli.services().restoreTests();
      const page = await service.listPage({
        ...(opts.server ? { serverId: opts.server } : {}),
        top: opts.top,
      });
      const items = page.items.filter((t) => !opts.outcome || t.outcome === opts.outcome);
      if (cli.json()) return cli.write(`${JSON.stringify(items, null, 2)}\n`);
      if (!items.length) return cli.write("No restore tests recorded.\n");
      cli.write(
        table(
          ["TEST", "SERVER", "OUTCOME", "STARTED", "TIME TO RESTORE", "REASON"],
          items.map((t) => [
            t.testId,
            t.serverName,
            t.outcome,
            age(t.startedAt, cli.now()),
            seconds(t.timeToRestoreInSeconds),
            t.reason ?? (t.findings ?? []).map((f) => f.message).join(" "),
          ]),
        ),
      );
    });
}
