import type { Command } from "commander";
import { endedRestoreStatuses, type RestoreRecord } from "../../lib/store/restores.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCodes } from "../exitCodes.js";
import { progress } from "../format.js";
import { positiveSeconds } from "../optionParsers.js";
import { asCliError, restoreFor } from "../restoreTarget.js";

function pointInTime(value: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime()))
    throw new CliError(
      `--at "${value}" is not a date and time.`,
      ExitCodes.usage,
      "Use ISO 8601, e.g. 2026-11-15T02:00:00Z.",
    );
  return at;
}

function describe(r: RestoreRecord): string {
  const lines = [
    `Restore ${r.restoreId} of ${r.serverName} (recovery point ${r.recoveryPointId}, ${r.recoveryPointTime}): ${r.status}${r.jobId ? `, job ${r.jobId}` : ""}`,
  ];
  if (r.errorCode) lines.push(`  ${r.errorCode}: ${r.errorMessage ?? ""}`);
  if (r.files?.length) {
    lines.push("Files:");
    for (const f of r.files) lines.push(`  ${f.name}  ${f.sizeInBytes} bytes`);
  }
  if (r.commands?.length) {
    lines.push("Rebuild the server:");
    for (const c of r.commands) lines.push(`  ${c}`);
  }
  return `${lines.join("\n")}\n`;
}

export function addRestoreCommand(program: Command, cli: CliContext): void {
  program
    .command("restore")
    .description(
      "Restore a protected server's recovery point as files to an allow-listed blob container; --wait prints the files and the rebuild commands.",
    )
    .argument("<server>", "server name (unique in scope) or resource id")
    .requiredOption("--container <id>", "the blob container's resource id (in PGFLEX_RESTORE_TARGETS)")
    .option("--point <id>", "recovery point id (default: the latest)")
    .option("--at <time>", "the newest recovery point at or before this time (ISO 8601)")
    .option("--wait", "wait until the restore finishes")
    .option("--timeout <seconds>", "with --wait: give up after this long", positiveSeconds, 3600)
    .action(
      async (
        server: string,
        opts: { container: string; point?: string; at?: string; wait?: boolean; timeout: number },
      ) => {
        if (opts.point && opts.at)
          throw new CliError(
            "Give --point or --at, not both.",
            ExitCodes.usage,
            "Omit both for the latest recovery point.",
          );
        const at = opts.at ? pointInTime(opts.at) : undefined;
        const spin = progress(cli.io.stderr, `Restoring ${server}`);
        try {
          const { service, ref } = await restoreFor(cli, server);
          let restore = await service
            .start(ref, {
              targetContainerId: opts.container,
              ...(opts.point ? { recoveryPointId: opts.point } : {}),
              ...(at ? { pointInTime: at } : {}),
            })
            .catch((e: unknown) => {
              throw asCliError(e);
            });
          if (opts.wait) {
            const timeScale = cli.services().config.timeScale ?? 1;
            const intervalInMs = cli.pollIntervalInMs ?? Math.max(50, Math.round(5000 / timeScale));
            const deadline = Date.now() + opts.timeout * 1000;
            while (!endedRestoreStatuses.includes(restore.status) && Date.now() <= deadline) {
              spin.update(restore.status);
              await new Promise((resolve) => setTimeout(resolve, intervalInMs));
              restore = (await service.get(restore.restoreId)) ?? restore;
            }
          }
          spin.done();
          const ended = endedRestoreStatuses.includes(restore.status);
          cli.setExitCode(
            !opts.wait || (ended && restore.status === "Completed")
              ? ExitCodes.ok
              : ended
                ? ExitCodes.attention
                : ExitCodes.timedOut,
          );
          if (cli.json()) return cli.write(`${JSON.stringify(restore, null, 2)}\n`);
          cli.write(describe(restore));
          if (opts.wait && !ended)
            cli.write(`Still running after ${opts.timeout}s; it continues in Azure.\n`);
        } finally {
          spin.done();
        }
      },
    );
}
