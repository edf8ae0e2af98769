import { isObject } from "../../core/json.js";
import { weekStartMs, type JobRecord } from "./state.js";

/**
 * The retention tag a scheduled backup gets, as Azure Backup tags it: the policy's `taggingCriteria`, highest
 * priority (lowest `taggingPriority`) first; the first criterion the backup meets names its tag, else the
 * default tag. `FirstOfDay/Week/Month/Year` mean no earlier backup of the instance in that UTC period succeeded
 * or is still running (a failed one did not keep a recovery point); `daysOfTheWeek` and `monthsOfYear` narrow a
 * criterion. Other criteria (`weeksOfTheMonth`, `daysOfMonth`, `scheduleTimes`) are not modelled: such a
 * criterion never matches here.
 */
export function scheduledRetentionTag(
  policy: { properties: Record<string, unknown> } | undefined,
  earlierJobs: readonly JobRecord[],
  startMs: number,
  weekStartsOn: number,
): string {
  const criteria = taggingCriteriaOf(policy);
  const fallback = criteria.find((c) => c.isDefault === true);
  const ordered = criteria
    .filter((c) => c.isDefault !== true)
    .sort((a, b) => Number(a.taggingPriority ?? 99) - Number(b.taggingPriority ?? 99));
  const kept = earlierJobs.filter(
    (j) =>
      j.startMs < startMs &&
      !/restore/i.test(j.operation) &&
      (j.status === "InProgress" || j.status === "Completed" || j.status === "CompletedWithWarnings"),
  );
  for (const criterion of ordered) {
    const rules = Array.isArray(criterion.criteria) ? criterion.criteria.filter(isObject) : [];
    if (rules.some((rule) => meets(rule, kept, startMs, weekStartsOn))) return tagNameOf(criterion);
  }
  return fallback ? tagNameOf(fallback) : "Default";
}

const DAY_IN_MS = 86_400_000;
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

function taggingCriteriaOf(
  policy: { properties: Record<string, unknown> } | undefined,
): Array<Record<string, unknown>> {
  const rules = (policy?.properties.policyRules as unknown[] | undefined) ?? [];
  for (const rule of rules) {
    if (!isObject(rule) || rule.objectType !== "AzureBackupRule" || !isObject(rule.trigger)) continue;
    const criteria = rule.trigger.taggingCriteria;
    if (Array.isArray(criteria)) return criteria.filter(isObject);
  }
  return [];
}

function tagNameOf(criterion: Record<string, unknown>): string {
  const info = criterion.tagInfo;
  return isObject(info) && typeof info.tagName === "string" ? info.tagName : "Default";
}

/** Start of the UTC period an absolute criterion names, or undefined for a criterion not modelled. */
function periodStart(absolute: string, ms: number, weekStartsOn: number): number | undefined {
  const d = new Date(ms);
  switch (absolute) {
    case "AllBackup":
      return ms;
    case "FirstOfDay":
      return Math.floor(ms / DAY_IN_MS) * DAY_IN_MS;
    case "FirstOfWeek":
      return weekStartMs(ms, weekStartsOn);
    case "FirstOfMonth":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case "FirstOfYear":
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    default:
      return undefined;
  }
}

function meets(
  rule: Record<string, unknown>,
  kept: readonly JobRecord[],
  startMs: number,
  weekStartsOn: number,
): boolean {
  if (rule.objectType !== "ScheduleBasedBackupCriteria") return false;
  const when = new Date(startMs);
  const days = rule.daysOfTheWeek;
  if (Array.isArray(days) && days.length > 0 && !days.includes(WEEKDAYS[when.getUTCDay()])) return false;
  const months = rule.monthsOfYear;
  if (Array.isArray(months) && months.length > 0 && !months.includes(MONTHS[when.getUTCMonth()]))
    return false;
  for (const other of ["weeksOfTheMonth", "daysOfMonth", "scheduleTimes"]) {
    const value = rule[other];
    if (Array.isArray(value) && value.length > 0) return false;
  }
  const absolute = Array.isArray(rule.absoluteCriteria) ? rule.absoluteCriteria : [];
  if (absolute.length === 0) return Array.isArray(days) || Array.isArray(months);
  return absolute.some((a) => {
    const from = periodStart(String(a), startMs, weekStartsOn);
    if (from === undefined) return false;
    return a === "AllBackup" || !kept.some((j) => j.startMs >= from);
  });
}
