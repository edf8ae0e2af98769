import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LocalHost } from "../../dev/host/index.js";
import type { TokenIssuer } from "../../bench/lib/tokens.js";
import { ISSUER } from "../../bench/lib/tokens.js";

/** The hostile-input corpus: data files under test/fixtures/hostile, each case with its expected answer. */

export interface Expectation {
  status: number;
  /** `error.code` of a JSON error body. */
  code?: string;
  /** `error.message` of a JSON error body, or the whole plain-text body. */
  message?: string;
  /** Response headers (lower-case names) that must have exactly these values. */
  headers?: Record<string, string>;
  /** The body is not compared (an HTML page): status and headers only. */
  anyBody?: boolean;
}

interface Generated {
  kind: "huge" | "deep";
  bytes?: number;
  depth?: number;
}

export interface HostileCase {
  name: string;
  method?: string;
  path?: string;
  auth?: string;
  key?: "function" | "none" | "wrong" | "eventgrid";
  body?: unknown;
  raw?: string;
  generate?: Generated;
  contentType?: string;
  eventType?: string;
  /** Request headers to send (an API case). */
  headers?: Record<string, string>;
  /**
   * The event is accepted and reaches the worker, which reads the server in ARM: the runner waits until no
   * row is in progress and the queues are back where they were, then rows and queues must be unchanged.
   */
  settles?: boolean;
  note?: string;
  /** A known product gap: the case is expected to break an invariant until the cause named here is fixed. */
  knownGap?: string;
  expect: Expectation;
}

export interface Corpus {
  description: string;
  cases: HostileCase[];
}

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "hostile");

export function loadCorpus(name: "api" | "eventgrid"): Corpus {
  return JSON.parse(readFileSync(join(fixtures, `${name}.json`), "utf8")) as Corpus;
}

export interface Placeholders {
  sub: string;
  otherSub: string;
  /** A job in the backup history (of the protected server). */
  jobId: string;
  /** A finished sweep. */
  sweepId: string;
}

function fill(text: string, p: Placeholders): string {
  return text
    .replaceAll("{sub}", p.sub)
    .replaceAll("{otherSub}", p.otherSub)
    .replaceAll("{jobId}", p.jobId)
    .replaceAll("{sweepId}", p.sweepId);
}

/** The case's expected answer with its placeholders filled. */
export function expectationOf(c: HostileCase, p: Placeholders): Expectation {
  const { anyBody: _anyBody, ...expect } = c.expect;
  return {
    ...expect,
    ...(c.expect.message === undefined ? {} : { message: fill(c.expect.message, p) }),
  };
}

function generate(g: Generated): string {
  if (g.kind === "deep") {
    const depth = g.depth ?? 10_000;
    return `${"[".repeat(depth)}${"]".repeat(depth)}`;
  }
  const bytes = g.bytes ?? 2 * 1024 * 1024;
  const filler = "A".repeat(Math.max(0, bytes - 32));
  return JSON.stringify({ retentionTag: "Default", filler });
}

function bodyOf(c: HostileCase, p: Placeholders): string | undefined {
  if (c.generate) return generate(c.generate);
  if (c.raw !== undefined) return fill(c.raw, p);
  if (typeof c.body === "string") return fill(c.body, p);
  if (c.body !== undefined) return fill(JSON.stringify(c.body), p);
  return undefined;
}

/** A bearer token of the named kind (see the corpus description). */
export async function tokenFor(kind: string | undefined, tokens: TokenIssuer): Promise<string | undefined> {
  switch (kind ?? "none") {
    case "none":
      return undefined;
    case "operator":
      return tokens.mint({ roles: ["Backup.Operator"] });
    case "reader":
      return tokens.mint({ roles: ["Backup.Reader"] });
    case "noRoles":
      return tokens.mint({ roles: [] });
    case "garbage":
      return "not-a-jwt";
    case "expired":
      return tokens.mint({ roles: ["Backup.Operator"], expiresInSeconds: -600 });
    case "notYetValid":
      return tokens.mint({ roles: ["Backup.Operator"], notBeforeInSeconds: 3600 });
    case "wrongAudience":
      return tokens.mint({ roles: ["Backup.Operator"], aud: "api://someone-else" });
    case "wrongIssuer":
      return tokens.mint({ roles: ["Backup.Operator"], iss: "https://evil.example/v2.0" });
    case "foreignTenant": {
      const tid = "99999999-9999-4999-8999-999999999999";
      return tokens.mint({ roles: ["Backup.Operator"], tid, iss: ISSUER.replace(/[0-9a-f-]{36}/, tid) });
    }
    case "foreignKey":
      return tokens.mint({ roles: ["Backup.Operator"] }, { foreignKey: true });
    case "hs256":
      return tokens.mint({ roles: ["Backup.Operator"] }, { alg: "HS256" });
    case "algNone": {
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
      const now = Math.floor(Date.now() / 1000);
      const valid = await tokens.mint({ roles: ["Backup.Operator"] });
      const claims = JSON.parse(Buffer.from(valid.split(".")[1] ?? "", "base64url").toString()) as object;
      return `${enc({ alg: "none", typ: "JWT" })}.${enc({ ...claims, exp: now + 3600 })}.`;
    }
    default:
      throw new Error(`Unknown auth kind '${kind}' in the hostile corpus.`);
  }
}

export interface Answer {
  status: number;
  code?: string;
  message?: string;
  headers?: Record<string, string>;
}

function headersOf(res: Response, expected: Expectation): Pick<Answer, "headers"> {
  return expected.headers
    ? { headers: Object.fromEntries(Object.keys(expected.headers).map((h) => [h, res.headers.get(h) ?? ""])) }
    : {};
}

/** Status, error code and message, and the values of the headers the case names (absent ones as ""). */
async function answerOf(res: Response, expected: Expectation): Promise<Answer> {
  const text = await res.text();
  if (expected.anyBody) return { status: res.status, ...headersOf(res, expected) };
  const headers = headersOf(res, expected);
  try {
    const json = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (json && typeof json === "object" && json.error) {
      return { status: res.status, code: json.error.code, message: json.error.message, ...headers };
    }
  } catch {
    // plain text
  }
  return { status: res.status, ...(text ? { message: text.trim() } : {}), ...headers };
}

/** Sends one API case through the host (function key gate, then the app). */
export async function sendApiCase(
  c: HostileCase,
  host: Pick<LocalHost, "url" | "functionKey">,
  tokens: TokenIssuer,
  p: Placeholders,
): Promise<Answer> {
  const headers: Record<string, string> = { ...c.headers };
  const key = c.key ?? "function";
  if (key === "function") headers["x-functions-key"] = host.functionKey;
  if (key === "wrong") headers["x-functions-key"] = "not-the-key";
  const token = await tokenFor(c.auth, tokens);
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const body = bodyOf(c, p);
  if (body !== undefined) headers["content-type"] = c.contentType ?? "application/json";
  const res = await fetch(`${host.url}/api/${fill(c.path ?? "", p)}`, {
    method: c.method ?? "GET",
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return answerOf(res, c.expect);
}

/** Sends one Event Grid case to the onResourceEvent webhook. */
export async function sendEventGridCase(
  c: HostileCase,
  host: Pick<LocalHost, "url" | "functionKey" | "eventGridKey">,
  p: Placeholders,
): Promise<Answer> {
  const url = new URL("/runtime/webhooks/EventGrid", host.url);
  url.searchParams.set("functionName", "onResourceEvent");
  const key = c.key ?? "eventgrid";
  if (key === "eventgrid") url.searchParams.set("code", host.eventGridKey);
  if (key === "function") url.searchParams.set("code", host.functionKey);
  if (key === "wrong") url.searchParams.set("code", "not-the-key");
  const body = bodyOf(c, p) ?? "";
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "aeg-event-type": c.eventType ?? "Notification",
      "content-type": c.contentType ?? "application/json",
    },
    body,
  });
  return answerOf(res, c.expect);
}
