import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { progress, table } from "../format.js";
import { asCliError, restoreFor } from "../restoreTarget.js";

export function addRecoveryPointsCommand(program: Command, cli: CliContext): void {
  program
    .command("recovery-points")
    .description("List a protected server's recovery points, newest first (time, retention tag, expiry).")
    .argument("<server>", "server name (unique in scope) or resource id")
    .action(async (server: string) => {
      const spin = progress(cli.io.stderr, `Reading recovery points of ${server}`);
      try {
        const { service, serverName, ref } = await restoreFor(cli, server);
        const points = (
          await service.listRecoveryPoints(ref, { top: 1000 }).catch((e: unknown) => {
            throw asCliError(e);
          })
        ).items;
        spin.done();
        if (cli.json()) return cli.write(`${JSON.stringify(points, null, 2)}\n`);
        if (points.length === 0) return cli.write(`${serverName} has no recovery point yet.\n`);
        cli.write(
          `${table(
            ["RECOVERY POINT", "TIME", "RETENTION TAG", "EXPIRES"],
            points.map((p) => [p.id, p.time, p.retentionTag ?? "", p.expiryTime ?? ""]),
          )}\n`,
        );
      } finally {
        spin.done();
      }
    });
}
