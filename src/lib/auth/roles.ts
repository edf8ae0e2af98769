/** App roles defined on the API's Entra ID app registration. */
export const Roles = {
  reader: "Backup.Reader",
  operator: "Backup.Operator",
  /** Starts restores (a restore copies a whole server's data to a container). */
  restore: "Backup.Restore",
} as const;

export type Role = (typeof Roles)[keyof typeof Roles];

/**
 * An operator or a restorer may also read: GET endpoints accept any of the roles; starting a backup needs the
 * operator, starting a restore the restorer (neither implies the other).
 */
const implied: Record<Role, readonly Role[]> = {
  "Backup.Reader": ["Backup.Reader", "Backup.Operator", "Backup.Restore"],
  "Backup.Operator": ["Backup.Operator"],
  "Backup.Restore": ["Backup.Restore"],
};

export function hasRole(granted: readonly string[], required: Role): boolean {
  return implied[required].some((role) => granted.includes(role));
}
