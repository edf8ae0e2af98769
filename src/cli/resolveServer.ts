import type { SweepRow } from "../lib/store/sweeps.js";
import { CliError, ExitCodes } from "./exitCodes.js";
import { lastSegment } from "./format.js";

/** Finds one server in scope by name or resource id, from a dry-run classification. */
export function resolveServer(rows: readonly SweepRow[], wanted: string): SweepRow {
  const key = wanted.toLowerCase();
  const matches = key.startsWith("/subscriptions/")
    ? rows.filter((row) => row.serverId === key)
    : rows.filter((row) => lastSegment(row.serverId) === key);
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length > 1)
    throw new CliError(
      `More than one server is named ${wanted}:\n${matches.map((match) => `  ${match.serverId}`).join("\n")}`,
      ExitCodes.refused,
      "Pass the full resource id instead of the name.",
    );
  throw new CliError(
    `No server ${wanted} in scope.`,
    ExitCodes.refused,
    "List them with: pgflex-autoprotect servers",
  );
}
