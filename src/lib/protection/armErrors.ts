/** How the worker reads ARM errors: the Data Protection codes it branches on, matched loosely on purpose. */
import { isRestError } from "../errors.js";
import type { VaultInfo } from "./ports.js";

export const ALREADY_PROTECTED = /DatasourceAlreadyProtected|AlreadyProtected/i;
/** The vault identity lacks roles on the datasource (not the app: its 403s are `AuthorizationFailed`). */
export const MISSING_PERMISSIONS = /MissingRequiredPermissions|MissingPermission/i;
export const NOT_READY = /NotReady/i;

/** True when `text` names `word` as a whole name (not as part of a longer name such as `bv-weu-2`). */
export function mentions(text: string, word: string): boolean {
  const escaped = word.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w-])${escaped}([^\\w-]|$)`).test(text.toLowerCase());
}

/** Does an "already protected" message point at this vault (by id or by name)? */
export function namesVault(message: string, vault: VaultInfo): boolean {
  return mentions(message, vault.id) || mentions(message, vault.name);
}

export function errorCode(e: unknown): string | undefined {
  if (e && typeof e === "object") {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code) return code;
  }
  return undefined;
}

export function statusOf(e: unknown): number | undefined {
  return isRestError(e) ? e.statusCode : undefined;
}
