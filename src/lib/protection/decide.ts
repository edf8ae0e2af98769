/** Pure decisions of protection: no I/O, so they are tested alone. */
import { BackupRoles } from "../azure/roles.js";
import { readBackupTag } from "../domain/backupTag.js";
import { unsupportedForBackup, unsupportedGuidance } from "../domain/backupSupport.js";
import { resourceGroupScopeOf } from "../domain/serverId.js";

export type TagDecision =
  | { kind: "protect"; tagValue: string; policyName: string }
  | { kind: "optOut"; tagValue: string }
  | { kind: "untagged" }
  | { kind: "unknown"; tagValue: string; allowed: string[] }
  /** The tag is there but unreadable (twice with different values, empty, control characters...). */
  | { kind: "malformed"; problem: string };

export interface TagRules {
  /** Tag name, compared case-insensitively as ARM does. */
  backupTag: string;
  /** Lower-cased tag value → policy name. */
  policyMap: Record<string, string>;
  /** Lower-cased values that opt out. */
  optOutValues: readonly string[];
}

/**
 * Reads the backup tag as the compliance sweep does (`readBackupTag`) and maps its value to a policy, an
 * opt-out or an error. `tagValue` is the value as written, for the row and for messages.
 */
export function decideFromTags(tags: Record<string, string> | undefined, rules: TagRules): TagDecision {
  const tag = readBackupTag(tags, rules.backupTag);
  if (tag.kind === "absent") return { kind: "untagged" };
  if (tag.kind === "malformed") return { kind: "malformed", problem: tag.problem };
  const tagValue = writtenValue(tags ?? {}, rules.backupTag) ?? tag.value;
  if (rules.optOutValues.includes(tag.value)) return { kind: "optOut", tagValue };
  const policyName = Object.prototype.hasOwnProperty.call(rules.policyMap, tag.value)
    ? rules.policyMap[tag.value]
    : undefined;
  if (policyName) return { kind: "protect", tagValue, policyName };
  return {
    kind: "unknown",
    tagValue,
    allowed: [...Object.keys(rules.policyMap).sort(), ...rules.optOutValues],
  };
}

/** The first value of the tag as written; `readBackupTag` has already found every copy to agree. */
function writtenValue(tags: Record<string, string>, tagName: string): string | undefined {
  return Object.entries(tags).find(
    ([key, value]) => readBackupTag({ [key]: value }, tagName).kind === "value",
  )?.[1];
}

/**
 * Why Azure Backup cannot protect this server (a read replica, over 1 TB), as the row's code, message and
 * fix; undefined when it can. Checked before any Azure call, so such a server settles without retries.
 */
export function unsupportedServer(
  server: { name: string; replicationRole?: string; storageSizeGB?: number },
  rules: Pick<TagRules, "backupTag" | "optOutValues">,
): { lastErrorCode: string; lastErrorMessage: string; fix: string } | undefined {
  const why = unsupportedForBackup(server);
  if (!why) return undefined;
  const g = unsupportedGuidance(server.name, why, rules);
  return { lastErrorCode: g.code, lastErrorMessage: g.reason, fix: g.fix };
}

export interface RequiredRole {
  roleDefinitionGuid: string;
  roleName: string;
  scope: string;
}

/** The vault identity needs Reader on the server's resource group and the LTR backup role on the server. */
export function requiredRoles(serverId: string): RequiredRole[] {
  return [
    {
      roleDefinitionGuid: BackupRoles.reader.id,
      roleName: BackupRoles.reader.name,
      scope: resourceGroupScopeOf(serverId),
    },
    {
      roleDefinitionGuid: BackupRoles.longTermRetention.id,
      roleName: BackupRoles.longTermRetention.name,
      scope: serverId,
    },
  ];
}

/** Exponential backoff with a cap: 30 s, 60 s, 120 s, ... up to 15 min (scaled for tests). */
export function backoffInMs(attempt: number, baseInMs = 30_000, capInMs = 15 * 60_000): number {
  return Math.min(capInMs, baseInMs * 2 ** Math.max(0, attempt));
}
