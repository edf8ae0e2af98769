/** App roles defined on the API's Entra ID app registration. */
export const Roles = {
  reader: "Backup.Reader",
  operator: "Backup.Operator",
} as const;

export type Role = (typeof Roles)[keyof typeof Roles];

/** An operator may also read: GET endpoints accept either role, POST endpoints only the operator. */
const implied: Record<Role, readonly Role[]> = {
  "Backup.Reader": ["Backup.Reader", "Backup.Operator"],
  "Backup.Operator": ["Backup.Operator"],
};

export function hasRole(granted: readonly string[], required: Role): boolean {
  return implied[required].some((role) => granted.includes(role));
}
