/** A sweep's figures as gauges: servers by where they are and what they need, and backup ages. */
import type { SweepRow } from "../store/sweeps.js";
import { observeLastSuccess } from "../telemetry/backupAge.js";
import { Metrics, telemetry } from "../telemetry/index.js";
import type { ServerRecordLike } from "./sweeper.js";

/**
 * `pgflex.servers` for one unit of a sweep (all of it when `unit` is `all`) and each server's
 * `pgflex.backup.last_success.age`. `state` is the protection state the worker recorded (`Unrecorded`
 * when it has no row for the server).
 */
export function observeSweepRows(
  rows: readonly SweepRow[],
  records: ReadonlyMap<string, ServerRecordLike>,
  unit: string,
): void {
  const t = telemetry();
  const counts = new Map<string, { attributes: Record<string, string>; value: number }>();
  for (const row of rows) {
    const attributes = {
      subscription: row.subscriptionId,
      region: row.location ?? "",
      vault: row.vaultId?.toLowerCase() ?? "",
      policy: row.policyName ?? "",
      state: records.get(row.serverId)?.state ?? "Unrecorded",
      sweep_class: row.class,
    };
    const key = Object.values(attributes).join("|");
    const entry = counts.get(key) ?? { attributes, value: 0 };
    entry.value += 1;
    counts.set(key, entry);
    if (row.lastBackupAt) observeLastSuccess(row.serverId, row.lastBackupAt, attributes);
  }
  t.observe(Metrics.servers.name, [...counts.values()], unit === "all" ? undefined : unit);
}

/** `pgflex.compliance.percent` of the latest finished sweep. */
export function observeCompliance(percent: number): void {
  telemetry().observe(Metrics.compliancePercent.name, [{ attributes: { scope: "all" }, value: percent }]);
}
