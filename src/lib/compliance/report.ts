import type { ScopeResult, SweepChange, SweepDiff, SweepSummary } from "../store/sweeps.js";
import { MAX_LISTED_ITEMS } from "../store/sweeps.js";
import type { ComplianceClass, SweepFailure } from "../domain/compliance.js";
import { CompliantClasses, NonCompliantClasses } from "../domain/compliance.js";
import type { SweepRow } from "../store/sweeps.js";
import { mergeRestoreTestSignals } from "./restoreUntested.js";

/** Pure report arithmetic: counts, compliance percentage, diff against the previous sweep, merging scopes. */

export function countClasses(
  rows: readonly Pick<SweepRow, "class">[],
): Partial<Record<ComplianceClass, number>> {
  const counts: Partial<Record<ComplianceClass, number>> = {};
  for (const r of rows) counts[r.class] = (counts[r.class] ?? 0) + 1;
  return counts;
}

/** Compliant / (compliant + non-compliant) in percent, one decimal; 100 when nothing is owed. */
export function compliancePercent(counts: Partial<Record<ComplianceClass, number>>): number {
  let good = 0;
  let bad = 0;
  for (const [k, n] of Object.entries(counts) as Array<[ComplianceClass, number]>) {
    if (CompliantClasses.has(k)) good += n;
    else if (NonCompliantClasses.has(k)) bad += n;
  }
  return good + bad === 0 ? 100 : Math.round((good / (good + bad)) * 1000) / 10;
}

export function emptyDiff(previousSweepId?: string): SweepDiff {
  return {
    ...(previousSweepId ? { previousSweepId } : {}),
    becameCompliant: 0,
    drifted: 0,
    changed: 0,
    added: 0,
    removed: 0,
    becameCompliantServers: [],
    driftedServers: [],
  };
}

/**
 * Sets `previousClass` on each row and returns what changed. `removable` says whether a previous row
 * absent now may count as removed (only where the server listing was complete).
 */
export function diffRows(
  rows: SweepRow[],
  previous: ReadonlyMap<string, Pick<SweepRow, "serverId" | "class" | "subscriptionId">> | undefined,
  previousSweepId: string | undefined,
  removable: (row: Pick<SweepRow, "serverId" | "subscriptionId">) => boolean,
): SweepDiff {
  const diff = emptyDiff(previousSweepId);
  if (!previous) return diff;
  const seen = new Set<string>();
  for (const row of rows) {
    const prev = previous.get(row.serverId);
    seen.add(row.serverId);
    if (!prev) {
      diff.added++;
      continue;
    }
    row.previousClass = prev.class;
    if (prev.class === row.class) continue;
    diff.changed++;
    const change: SweepChange = { serverId: row.serverId, from: prev.class, to: row.class };
    if (CompliantClasses.has(row.class) && NonCompliantClasses.has(prev.class)) {
      diff.becameCompliant++;
      if (diff.becameCompliantServers.length < MAX_LISTED_ITEMS) diff.becameCompliantServers.push(change);
    } else if (NonCompliantClasses.has(row.class) && CompliantClasses.has(prev.class)) {
      diff.drifted++;
      if (diff.driftedServers.length < MAX_LISTED_ITEMS) diff.driftedServers.push(change);
    }
  }
  for (const prev of previous.values()) {
    if (!seen.has(prev.serverId) && removable(prev)) diff.removed++;
  }
  return diff;
}

export function mergeDiffs(diffs: readonly SweepDiff[], previousSweepId: string | undefined): SweepDiff {
  const out = emptyDiff(previousSweepId);
  for (const d of diffs) {
    out.becameCompliant += d.becameCompliant;
    out.drifted += d.drifted;
    out.changed += d.changed;
    out.added += d.added;
    out.removed += d.removed;
    out.becameCompliantServers.push(...d.becameCompliantServers);
    out.driftedServers.push(...d.driftedServers);
  }
  out.becameCompliantServers = out.becameCompliantServers.slice(0, MAX_LISTED_ITEMS);
  out.driftedServers = out.driftedServers.slice(0, MAX_LISTED_ITEMS);
  return out;
}

/**
 * Folds finished scope units into the summary; Complete when clean, Partial when anything failed. Failures
 * already on the summary (a fanned-out sweep's vault-wide reads) are kept first.
 */
export function finalizeSummary(
  summary: SweepSummary,
  results: readonly ScopeResult[],
  finishedAt: Date,
): SweepSummary {
  const counts: Partial<Record<ComplianceClass, number>> = {};
  const failures: SweepFailure[] = [...summary.failures];
  let failureCount = summary.failureCount;
  let total = 0;
  let armRequests = 0;
  const remediation = { enqueued: 0, wouldEnqueue: 0, failed: 0 };
  for (const r of results) {
    total += r.total;
    armRequests += r.armRequests;
    failureCount += r.failureCount;
    failures.push(...r.failures);
    remediation.enqueued += r.remediation.enqueued;
    remediation.wouldEnqueue += r.remediation.wouldEnqueue;
    remediation.failed += r.remediation.failed;
    for (const [k, n] of Object.entries(r.counts) as Array<[ComplianceClass, number]>)
      counts[k] = (counts[k] ?? 0) + n;
  }
  const restoreTests = mergeRestoreTestSignals(results.map((r) => r.restoreTests));
  return {
    ...summary,
    ...(restoreTests ? { restoreTests } : {}),
    status: failureCount > 0 ? "Partial" : "Complete",
    finishedAt: finishedAt.toISOString(),
    total,
    counts,
    compliancePercent: compliancePercent(counts),
    remediation,
    failureCount,
    failures: failures.slice(0, MAX_LISTED_ITEMS),
    diff: mergeDiffs(
      results.map((r) => r.diff),
      summary.previousSweepId,
    ),
    armRequests: summary.armRequests + armRequests,
  };
}

/** A Running sweep past its deadline died or was lost: report it Incomplete, never complete. */
export function presentSweep(summary: SweepSummary, now: Date): SweepSummary {
  if (summary.status === "Running" && Date.parse(summary.deadlineAt) < now.getTime()) {
    return { ...summary, status: "Incomplete" };
  }
  return summary;
}
