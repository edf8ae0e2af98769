/** How the worker reads ARM errors: the Data Protection codes it branches on, matched loosely on purpose. */
import { ensureError, isRestError, isTransientStatus, TransientError } from "../errors.js";
import type { VaultInfo } from "./ports.js";

const ALREADY_PROTECTED = /DatasourceAlreadyProtected|AlreadyProtected/i;
/** The vault identity lacks roles on the datasource (not the app: its 403s are `AuthorizationFailed`). */
const MISSING_PERMISSIONS = /MissingRequiredPermissions|MissingPermission/i;
const NOT_READY = /NotReady/i;
/** Azure Backup refuses the server itself: a read replica (primaries only). */
const REPLICA_NOT_SUPPORTED = /ReadReplicaNotSupported|ReplicaNotSupported/i;

/** True when `text` names `word` as a whole name (not as part of a longer name such as `bv-weu-2`). */
function mentions(text: string, word: string): boolean {
  const escaped = word.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w-])${escaped}([^\\w-]|$)`).test(text.toLowerCase());
}

/** Does an "already protected" message point at this vault (by id or by name)? */
function namesVault(message: string, vault: VaultInfo): boolean {
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

/** 5xx, 408, 429 or no response at all (a reset connection): worth trying again later. */
export function isTransientFailure(e: unknown): boolean {
  return (isRestError(e) || e instanceof TransientError) && isTransientStatus(statusOf(e));
}

/** Azure answered and said no (a code or a non-transient status): a reason to show, not an error to retry. */
export function isRejection(e: unknown): boolean {
  return !isTransientFailure(e) && (isRestError(e) || !!errorCode(e));
}

/** What a failed validateForBackup or instance PUT means for the server. */
export type ProtectFailure =
  /** This app's own instance already protects the server (e.g. its row was lost). */
  | { kind: "ownInstanceExists" }
  /** Another instance in the same vault protects the server. */
  | { kind: "otherInstanceInVault"; message: string }
  | { kind: "otherVault"; code: string; message: string }
  /** The vault identity lacks roles on the server (propagation, or grants needed). */
  | { kind: "vaultIdentityLacksRoles"; code: string; message: string }
  /** The app's own identity may not act on the vault. */
  | { kind: "appForbidden"; code: string; message: string }
  | { kind: "serverNotReady"; code: string }
  /** Azure Backup cannot protect this server (a read replica ARM did not report as one). */
  | { kind: "replicaNotSupported"; code: string; message: string }
  | { kind: "rejected"; code: string; message: string }
  /** Transient, or not an answer from Azure at all: rethrow it. */
  | { kind: "unexpected" };

export function classifyProtectFailure(
  e: unknown,
  vault: VaultInfo,
  ownInstanceName: string,
): ProtectFailure {
  const code = errorCode(e) ?? "";
  const message = ensureError(e).message;
  if (ALREADY_PROTECTED.test(code) || ALREADY_PROTECTED.test(message)) {
    if (!namesVault(message, vault)) {
      return { kind: "otherVault", code: code || "UserErrorDppDatasourceAlreadyProtected", message };
    }
    if (mentions(message, ownInstanceName)) return { kind: "ownInstanceExists" };
    return { kind: "otherInstanceInVault", message };
  }
  if (MISSING_PERMISSIONS.test(code)) return { kind: "vaultIdentityLacksRoles", code, message };
  if (statusOf(e) === 403) return { kind: "appForbidden", code: code || "AuthorizationFailed", message };
  if (NOT_READY.test(code)) return { kind: "serverNotReady", code };
  if (REPLICA_NOT_SUPPORTED.test(code)) return { kind: "replicaNotSupported", code, message };
  if (!isRejection(e)) return { kind: "unexpected" };
  return { kind: "rejected", code: code || `HTTP${statusOf(e) ?? ""}`, message };
}
