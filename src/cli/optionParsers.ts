import { InvalidArgumentError } from "commander";

/** `--since`: an ISO 8601 time, or a duration back from now such as 30m, 24h or 7d. */
export function sinceOption(value: string): Date {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) {
    const unitInMs = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as "m" | "h" | "d"];
    return new Date(Date.now() - Number(relative[1]) * unitInMs);
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed))
    throw new InvalidArgumentError("use an ISO 8601 time or a duration such as 30m, 24h or 7d.");
  return new Date(parsed);
}

export function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError("must be a positive number of seconds.");
  return seconds;
}
