import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { ExitCodes } from "../exitCodes.js";
import { indentedFix, lastSegment, progress } from "../format.js";
import { positiveSeconds } from "../optionParsers.js";
import { protectNow, SUCCESSFUL_PROTECT_OUTCOMES } from "../protectNow.js";
import { resolveServer } from "../resolveServer.js";

export function addProtectCommand(program: Command, cli: CliContext): void {
  program
    .command("protect")
    .description(
      "Protect one server now with the app's own worker (tag, vault, policy, roles, validate, configure).",
    )
    .argument("<server>", "server name (unique in scope) or resource id")
    .option("--timeout <seconds>", "give up waiting after this long", positiveSeconds, 600)
    .action(async (server: string, opts: { timeout: number }) => {
      const services = cli.services();
      const spin = progress(cli.io.stderr, `Protecting ${server}`);
      try {
        const target = resolveServer((await services.sweep({ dryRun: true })).rows, server);
        const result = await protectNow(services, target.serverId, {
          timeoutInMs: opts.timeout * 1000,
          onProgress: (state) => spin.update(state),
        });
        spin.done();
        cli.setExitCode(
          result.timedOut
            ? ExitCodes.timedOut
            : SUCCESSFUL_PROTECT_OUTCOMES.has(result.state)
              ? ExitCodes.ok
              : ExitCodes.attention,
        );
        const record = result.row;
        if (cli.json()) {
          const error = record?.lastErrorCode
            ? { code: record.lastErrorCode, message: record.lastErrorMessage, fix: record.fix }
            : undefined;
          const body = {
            serverId: target.serverId,
            state: result.state,
            timedOut: result.timedOut,
            vaultId: record?.vaultId,
            policyName: record?.policyName,
            instanceName: record?.instanceName,
            error,
          };
          return cli.write(`${JSON.stringify(body, null, 2)}\n`);
        }
        const policy = record?.policyName ? ` (policy ${record.policyName}` : "";
        const vault = record?.vaultId
          ? `, vault ${lastSegment(record.vaultId)})`
          : record?.policyName
            ? ")"
            : "";
        cli.write(`${lastSegment(target.serverId)}: ${result.state}${policy}${vault}\n`);
        if (result.timedOut)
          cli.write(
            `Still ${result.state} after ${opts.timeout}s; the app continues at the next event or sweep.\n`,
          );
        if (record?.lastErrorMessage) cli.write(`  ${record.lastErrorMessage}\n`);
        if (record?.fix) cli.write(`${indentedFix(record.fix)}\n`);
      } finally {
        spin.done();
      }
    });
}
