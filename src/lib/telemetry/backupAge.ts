/** The age of a server's last successful backup, the figure a "stale backup" alert rule reads. */
import { Metrics, telemetry, type GaugePoint } from "./index.js";

const HOUR_IN_MS = 3_600_000;

/**
 * One server's `pgflex.backup.last_success.age` in hours, growing at each collection until a later success
 * replaces it (the job poller's outcomes and each sweep refresh it).
 */
export function observeLastSuccess(
  serverId: string,
  lastSuccessAt: string,
  where: { subscription: string; region: string; vault: string; policy: string },
): void {
  const at = Date.parse(lastSuccessAt);
  if (!Number.isFinite(at)) return;
  const point: GaugePoint = {
    attributes: {
      server: serverId,
      subscription: where.subscription,
      region: where.region,
      vault: where.vault.toLowerCase(),
      policy: where.policy,
    },
    value: () => Math.max(0, (Date.now() - at) / HOUR_IN_MS),
  };
  telemetry().observe(Metrics.lastSuccessAge.name, [point], serverId);
}
