import { ApiError } from "../lib/http/errors.js";
import type { RestoreService } from "../lib/restore/service.js";
import type { CliContext } from "./context.js";
import { CliError, ExitCodes } from "./exitCodes.js";
import { lastSegment } from "./format.js";
import { resolveServer } from "./resolveServer.js";

/** The restore service for a protected server named on the command line, and the server's path reference. */
export async function restoreFor(
  cli: CliContext,
  server: string,
): Promise<{
  service: RestoreService;
  serverName: string;
  ref: { subscriptionId: string; resourceGroup: string; serverName: string };
}> {
  const services = cli.services();
  const row = resolveServer((await services.sweep({ dryRun: true })).rows, server);
  const serverName = lastSegment(row.serverId);
  if (!row.instanceId || !row.vaultId)
    throw new CliError(
      `${serverName} has no backup instance (${row.class}), so it has no recovery points.`,
      ExitCodes.refused,
      `pgflex-autoprotect protect ${serverName}`,
    );
  const service = await services.restoreService({
    serverId: row.serverId,
    vaultId: row.vaultId,
    instanceName: lastSegment(row.instanceId),
  });
  const [, , subscriptionId = "", , resourceGroup = ""] = row.serverId.split("/");
  return { service, serverName, ref: { subscriptionId, resourceGroup, serverName } };
}

/** A refusal of the restore service as the CLI reports it: the message, the fix, exit code 3. */
export function asCliError(e: unknown): unknown {
  if (e instanceof ApiError) return new CliError(e.message, ExitCodes.refused, e.details.fix);
  return e;
}
