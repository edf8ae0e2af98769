import type { IncomingMessage, ServerResponse } from "node:http";
import type { EmulatorResponse } from "./provider.js";

/** Principal used when the bearer token is not a JWT with an `oid` (e.g. the static emulator token). */
export const EMULATOR_ADMIN_PRINCIPAL_ID = "00000000-0000-0000-0000-00000000ad01";

export function jsonBody(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** ARM takes JSON; a body without a content type is read as JSON too. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return true;
  const type = (value.split(";")[0] ?? "").trim().toLowerCase();
  return type === "application/json" || type === "text/json" || type.endsWith("+json");
}

/** The caller of a request: a JWT's `oid` (signature not checked, as the emulator trusts loopback), else the admin. */
export function callerFromToken(token: string): { principalId: string; expired: boolean } {
  const parts = token.split(".");
  if (parts.length !== 3) return { principalId: EMULATOR_ADMIN_PRINCIPAL_ID, expired: false };
  try {
    const payload = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8")) as {
      oid?: string;
      exp?: number;
    };
    return {
      principalId: payload.oid ?? EMULATOR_ADMIN_PRINCIPAL_ID,
      expired: typeof payload.exp === "number" && payload.exp * 1000 < Date.now(),
    };
  } catch {
    return { principalId: EMULATOR_ADMIN_PRINCIPAL_ID, expired: false };
  }
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

export function send(
  res: ServerResponse,
  response: EmulatorResponse,
  extraHeaders: Record<string, string>,
): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...extraHeaders, ...(response.headers ?? {}) };
  if (response.body !== undefined) {
    const text = JSON.stringify(response.body);
    headers["Content-Type"] = "application/json; charset=utf-8";
    headers["Content-Length"] = String(Buffer.byteLength(text));
    res.writeHead(response.status, headers);
    res.end(text);
  } else {
    headers["Content-Length"] = "0";
    res.writeHead(response.status, headers);
    res.end();
  }
}

/** Reads the body up to `maxBytes`; beyond it, drains the rest and reports `tooLarge` (answered 413). */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<{ text: string; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const declared = Number.parseInt(req.headers["content-length"] ?? "", 10);
    if (declared > maxBytes) {
      req.resume();
      resolve({ text: "", tooLarge: true });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve({ text: Buffer.concat(chunks).toString("utf8"), tooLarge }));
    req.on("error", reject);
  });
}
