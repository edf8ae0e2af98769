import { isObject } from "../../core/json.js";
import { canonicalType, codes, isKnownType, knownDatasourceTypes } from "./engine.js";
import type { Failure } from "./engine.js";
import { durationInMs, nextOccurrence, PG_FLEX } from "./state.js";

const invalid = (message: string): Failure => ({ status: 400, code: codes.invalidParameter, message });

/**
 * Retention tags a PG Flexible policy may tag backups with: the default rule plus the manifests'
 * `supportedRetentionTags` (az CLI and Az PowerShell `dataprotection`: Weekly, Monthly, Yearly).
 */
const PG_FLEX_RETENTION_TAGS = ["Default", "Weekly", "Monthly", "Yearly"];

/** Shape checks of a BaseBackupPolicyResource; returns its `properties` as stored. */
export function checkPolicyShape(body: unknown): Record<string, unknown> | Failure {
  if (!isObject(body) || !isObject(body.properties)) return invalid("'properties' is required.");
  const p = body.properties;
  if (p.objectType !== "BackupPolicy") return invalid("'properties.objectType' must be 'BackupPolicy'.");
  if (!Array.isArray(p.datasourceTypes) || p.datasourceTypes.length === 0)
    return invalid("'properties.datasourceTypes' must list one datasource type.");
  for (const t of p.datasourceTypes) {
    if (!isKnownType(t))
      return invalid(
        `The datasource type '${String(t)}' is not supported. Supported types: ${knownDatasourceTypes.join(", ")}.`,
      );
  }
  const pgFlex = p.datasourceTypes.some((t) => canonicalType(String(t)) === canonicalType(PG_FLEX));
  if (!Array.isArray(p.policyRules) || p.policyRules.length === 0)
    return invalid("'properties.policyRules' must not be empty.");
  let backupRules = 0;
  for (const [i, rule] of p.policyRules.entries()) {
    const at = `properties.policyRules[${i}]`;
    if (!isObject(rule) || typeof rule.name !== "string" || rule.name === "")
      return invalid(`'${at}.name' is required.`);
    if (rule.objectType === "AzureBackupRule") {
      backupRules += 1;
      if (
        !isObject(rule.dataStore) ||
        typeof rule.dataStore.dataStoreType !== "string" ||
        rule.dataStore.objectType !== "DataStoreInfoBase"
      ) {
        return invalid(`'${at}.dataStore' must be a DataStoreInfoBase.`);
      }
      const trigger = rule.trigger;
      if (!isObject(trigger)) return invalid(`'${at}.trigger' is required.`);
      if (trigger.objectType === "ScheduleBasedTriggerContext") {
        const intervals = isObject(trigger.schedule) ? trigger.schedule.repeatingTimeIntervals : undefined;
        if (!Array.isArray(intervals) || intervals.length === 0)
          return invalid(`'${at}.trigger.schedule.repeatingTimeIntervals' is required.`);
        for (const interval of intervals) {
          if (typeof interval !== "string" || nextOccurrence(interval, 0) === undefined) {
            return invalid(
              `'${String(interval)}' is not an ISO 8601 repeating interval such as 'R/2024-01-07T02:00:00+00:00/P1W'.`,
            );
          }
          // PG Flexible long-term retention backups run weekly.
          if (pgFlex && !/\/P1W$/.test(interval))
            return invalid(
              `PostgreSQL Flexible Server policies support weekly backups only ('.../P1W'), not '${interval}'.`,
            );
        }
        if (!Array.isArray(trigger.taggingCriteria) || trigger.taggingCriteria.length === 0)
          return invalid(`'${at}.trigger.taggingCriteria' is required.`);
        if (pgFlex) {
          for (const criterion of trigger.taggingCriteria) {
            const tag =
              isObject(criterion) && isObject(criterion.tagInfo) ? criterion.tagInfo.tagName : undefined;
            if (!PG_FLEX_RETENTION_TAGS.some((t) => t.toLowerCase() === String(tag).toLowerCase()))
              return invalid(
                `PostgreSQL Flexible Server policies support the retention tags ${PG_FLEX_RETENTION_TAGS.join(", ")}, not '${String(tag)}'.`,
              );
          }
        }
      } else if (trigger.objectType !== "AdhocBasedTriggerContext") {
        return invalid(
          `'${at}.trigger.objectType' must be 'ScheduleBasedTriggerContext' or 'AdhocBasedTriggerContext'.`,
        );
      }
    } else if (rule.objectType === "AzureRetentionRule") {
      if (!Array.isArray(rule.lifecycles) || rule.lifecycles.length === 0)
        return invalid(`'${at}.lifecycles' is required.`);
      for (const lc of rule.lifecycles) {
        const after = isObject(lc) ? lc.deleteAfter : undefined;
        if (
          !isObject(after) ||
          after.objectType !== "AbsoluteDeleteOption" ||
          typeof after.duration !== "string" ||
          durationInMs(after.duration) === undefined
        ) {
          return invalid(
            `'${at}.lifecycles[].deleteAfter' must be an AbsoluteDeleteOption with an ISO 8601 duration.`,
          );
        }
      }
    } else {
      return invalid(`'${at}.objectType' must be 'AzureBackupRule' or 'AzureRetentionRule'.`);
    }
  }
  if (backupRules === 0) return invalid("A backup policy needs an 'AzureBackupRule'.");
  return p;
}
