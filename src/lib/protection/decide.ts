/** Pure decisions of protection: no I/O, so they are tested alone. */
import { BackupRoles } from "../azure/roles.js";

export type TagDecision =
  | { kind: "protect"; tagValue: string; policyName: string }
  | { kind: "optOut"; tagValue: string }
  | { kind: "untagged" }
  | { kind: "unknown"; tagValue: string; allowed: string[] };

export interface TagRules {
  /** Tag name, compared case-insensitively as ARM does. */
  backupTag: string;
  /** Lower-cased tag value → policy name. */
  policyMap: Record<string, string>;
  /** Lower-cased values that opt out. */
  optOutValues: readonly string[];
}

/** Reads the backup tag (name case-insensitive) and maps its value to a policy, an opt-out or an error. */
export function decideFromTags(tags: Record<string, string> | undefined, rules: TagRules): TagDecision {
  const wanted = rules.backupTag.toLowerCase();
  const entry = Object.entries(tags ?? {}).find(([k]) => k.toLowerCase() === wanted);
  if (!entry) return { kind: "untagged" };
  const tagValue = entry[1];
  const key = tagValue.trim().toLowerCase();
  if (rules.optOutValues.includes(key)) return { kind: "optOut", tagValue };
  const policyName = Object.prototype.hasOwnProperty.call(rules.policyMap, key)
    ? rules.policyMap[key]
    : undefined;
  if (policyName) return { kind: "protect", tagValue, policyName };
  return {
    kind: "unknown",
    tagValue,
    allowed: [...Object.keys(rules.policyMap).sort(), ...rules.optOutValues],
  };
}

/** A tag value made safe to quote in a message: printable, at most 64 characters, JSON-quoted. */
export function quoteTagValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?");
  return JSON.stringify(printable.length > 64 ? `${printable.slice(0, 61)}...` : printable);
}

export function unknownTagMessage(backupTag: string, tagValue: string, allowed: readonly string[]): string {
  return `Backup tag "${backupTag}" has the value ${quoteTagValue(tagValue)}, which maps to no backup policy. Allowed values: ${allowed.join(", ")}.`;
}

export interface RequiredRole {
  roleDefinitionGuid: string;
  roleName: string;
  scope: string;
}

/** The vault identity needs Reader on the server's resource group and the LTR backup role on the server. */
export function requiredRoles(serverId: string): RequiredRole[] {
  const rgScope = serverId.replace(/\/providers\/microsoft\.dbforpostgresql\/flexibleservers\/[^/]+$/i, "");
  return [
    { roleDefinitionGuid: BackupRoles.reader.id, roleName: BackupRoles.reader.name, scope: rgScope },
    {
      roleDefinitionGuid: BackupRoles.longTermRetention.id,
      roleName: BackupRoles.longTermRetention.name,
      scope: serverId,
    },
  ];
}

/** The exact command that grants `role` to the vault identity. */
export function grantCommand(principalId: string, role: RequiredRole): string {
  return `az role assignment create --assignee-object-id ${principalId} --assignee-principal-type ServicePrincipal --role "${role.roleName}" --scope ${role.scope}`;
}

export function missingRolesMessage(
  vaultName: string,
  principalId: string,
  missing: readonly RequiredRole[],
): {
  message: string;
  fix: string;
} {
  return {
    message: `The identity ${principalId} of Backup vault "${vaultName}" lacks ${missing
      .map((r) => `"${r.roleName}" on ${r.scope}`)
      .join(" and ")}.`,
    fix: missing.map((r) => grantCommand(principalId, r)).join("\n"),
  };
}

/** Exponential backoff with a cap: 30 s, 60 s, 120 s, ... up to 15 min (scaled for tests). */
export function backoffInMs(attempt: number, baseInMs = 30_000, capInMs = 15 * 60_000): number {
  return Math.min(capInMs, baseInMs * 2 ** Math.max(0, attempt));
}
