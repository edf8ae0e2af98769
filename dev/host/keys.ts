import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/**
 * Keys as the real host checks them: `function` level accepts a function key or the master key,
 * `admin` level and the admin API only the master key, the Event Grid webhook its system key
 * (`eventgrid_extension` in Azure) or the master key. A key arrives in `x-functions-key` or `?code=`.
 */
export interface HostKeys {
  readonly functionKey: string;
  readonly masterKey: string;
  readonly eventGridKey: string;
}

export type KeyLevel = "anonymous" | "function" | "admin" | "eventGrid";

/** Fills in every key that is not configured with a fresh random one; `generated` names those. */
export function resolveKeys(
  configured: Partial<HostKeys> = {},
): HostKeys & { generated: Array<keyof HostKeys> } {
  const generated: Array<keyof HostKeys> = [];
  const pick = (name: keyof HostKeys): string => {
    const value = configured[name]?.trim();
    if (value) return value;
    generated.push(name);
    return randomBytes(30).toString("base64url");
  };
  return {
    functionKey: pick("functionKey"),
    masterKey: pick("masterKey"),
    eventGridKey: pick("eventGridKey"),
    generated,
  };
}

export function presentedKey(url: URL, headers: IncomingHttpHeaders): string | undefined {
  const header = headers["x-functions-key"];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  return fromHeader || url.searchParams.get("code") || undefined;
}

export function isAuthorized(level: KeyLevel, key: string | undefined, keys: HostKeys): boolean {
  if (level === "anonymous") return true;
  if (!key) return false;
  if (same(key, keys.masterKey)) return true;
  if (level === "function") return same(key, keys.functionKey);
  if (level === "eventGrid") return same(key, keys.eventGridKey);
  return false;
}

/** One-line reason for a 401, naming the key that is needed but never its value. */
export function unauthorizedReason(level: KeyLevel, key: string | undefined): string {
  const which =
    level === "admin"
      ? "the master key"
      : level === "eventGrid"
        ? "the Event Grid system key"
        : "a function key";
  return key
    ? `The key sent is not valid here: this endpoint needs ${which}.`
    : `Missing key: send ${which} in the x-functions-key header or the code query parameter.`;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
