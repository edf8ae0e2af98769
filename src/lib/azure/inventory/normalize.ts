import { normalizeRegion } from "../../domain/region.js";
import type { SweepFailure } from "../../domain/compliance.js";
import { ensureError, isRestError } from "../../errors.js";
import type { InventoryInstance, InventoryServer, InventoryVault, RawResource } from "./types.js";

/** Raw ARM resources to inventory items; ARM errors to sweep failures. */

export const lower = (s: string | undefined): string => (s ?? "").toLowerCase();

function segment(id: string, name: string): string | undefined {
  const parts = id.split("/");
  const i = parts.findIndex((p) => p.toLowerCase() === name);
  return i >= 0 ? parts[i + 1] : undefined;
}

export function toInventoryServer(raw: RawResource): InventoryServer | undefined {
  if (!raw.id) return undefined;
  const id = lower(raw.id);
  const state = raw.state ?? (typeof raw.properties?.state === "string" ? raw.properties.state : undefined);
  const props = raw.properties ?? {};
  const role = str(raw.replicationRole) ?? str(props.replicationRole);
  const storage = isRecord(props.storage) ? props.storage : {};
  const size = [raw.storageSizeGB, raw.storage?.storageSizeGB, storage.storageSizeGB].find(
    (v): v is number => typeof v === "number",
  );
  return {
    id,
    name: lower(raw.name ?? id.slice(id.lastIndexOf("/") + 1)),
    subscriptionId: lower(raw.subscriptionId ?? segment(id, "subscriptions")),
    resourceGroup: lower(raw.resourceGroup ?? segment(id, "resourcegroups")),
    location: normalizeRegion(raw.location ?? ""),
    tags: raw.tags,
    ...(state ? { state } : {}),
    ...(role ? { replicationRole: role } : {}),
    ...(size !== undefined ? { storageSizeGB: size } : {}),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function toInventoryVault(raw: RawResource): InventoryVault | undefined {
  if (!raw.id) return undefined;
  const id = lower(raw.id);
  const tags: Record<string, string> = {};
  if (raw.tags && typeof raw.tags === "object" && !Array.isArray(raw.tags)) {
    for (const [k, v] of Object.entries(raw.tags as Record<string, unknown>))
      if (typeof v === "string") tags[k] = v;
  }
  return {
    id,
    name: lower(raw.name ?? id.slice(id.lastIndexOf("/") + 1)),
    subscriptionId: lower(raw.subscriptionId ?? segment(id, "subscriptions")),
    location: normalizeRegion(raw.location ?? ""),
    tags,
  };
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function toInventoryInstance(raw: RawResource): InventoryInstance | undefined {
  if (!raw.id) return undefined;
  const id = lower(raw.id);
  const cut = id.indexOf("/backupinstances/");
  if (cut < 0) return undefined;
  const p = raw.properties ?? {};
  const ds = (p.dataSourceInfo ?? {}) as Record<string, unknown>;
  const datasourceId = str(ds.resourceID) ?? str(ds.resourceId);
  if (!datasourceId) return undefined;
  const status = (p.protectionStatus ?? {}) as Record<string, unknown>;
  const errorDetails = (status.errorDetails ?? p.protectionErrorDetails ?? {}) as Record<string, unknown>;
  const policyId = str(((p.policyInfo ?? {}) as Record<string, unknown>).policyId);
  const out: InventoryInstance = {
    id,
    name: lower(raw.name ?? id.slice(id.lastIndexOf("/") + 1)),
    vaultId: id.slice(0, cut),
    datasourceId: lower(datasourceId),
  };
  const protectionStatus = str(status.status);
  if (protectionStatus) out.protectionStatus = protectionStatus;
  const current = str(p.currentProtectionState);
  if (current) out.currentProtectionState = current;
  const code = str(errorDetails.code);
  if (code) out.errorCode = code;
  const message = str(errorDetails.message);
  if (message) out.errorMessage = message;
  if (policyId) {
    out.policyId = lower(policyId);
    out.policyName = lower(policyId.slice(policyId.lastIndexOf("/") + 1));
  }
  return out;
}

/** `P1W`, `P1D`, `PT4H`… → ms; undefined for anything else. */
export function isoDurationToMs(duration: string): number | undefined {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(duration.trim());
  if (!m || duration.trim().toUpperCase() === "P" || duration.trim().toUpperCase() === "PT") return undefined;
  const [, w, d, h, min, s] = m.map((x) => (x ? Number(x) : 0)) as number[];
  const ms = ((((w ?? 0) * 7 + (d ?? 0)) * 24 + (h ?? 0)) * 60 + (min ?? 0)) * 60_000 + (s ?? 0) * 1000;
  return ms > 0 ? ms : undefined;
}

/** Backup period of a Data Protection policy: the shortest repeating interval of its backup rules. */
export function policyPeriodInMs(raw: RawResource): number | undefined {
  const rules = (raw.properties?.policyRules ?? []) as Array<Record<string, unknown>>;
  let best: number | undefined;
  for (const rule of Array.isArray(rules) ? rules : []) {
    const trigger = (rule.trigger ?? {}) as Record<string, unknown>;
    const schedule = (trigger.schedule ?? {}) as Record<string, unknown>;
    const intervals = Array.isArray(schedule.repeatingTimeIntervals) ? schedule.repeatingTimeIntervals : [];
    for (const interval of intervals) {
      if (typeof interval !== "string") continue;
      const period = interval.split("/").pop() ?? "";
      const ms = isoDurationToMs(period);
      if (ms !== undefined && (best === undefined || ms < best)) best = ms;
    }
  }
  return best;
}

export function toFailure(scope: SweepFailure["scope"], target: string, e: unknown): SweepFailure {
  const err = ensureError(e);
  if (isRestError(err)) {
    return {
      scope,
      target,
      code: err.code ?? `HTTP${err.statusCode ?? ""}`,
      message: err.message.split("\n")[0] ?? err.message,
    };
  }
  return { scope, target, code: err.name, message: err.message };
}
