/**
 * The KQL subset the emulator's Resource Graph answers — what pgflex-autoprotect sends, plus a little:
 *
 *   resources | where type =~ 'microsoft.dbforpostgresql/flexibleservers' | project id, name, tags
 *
 * Tables: `resources`. Operators: `where` (`==`, `=~`, `!=`, `!~`, `in~ (...)`, `in (...)`,
 * `startswith`, `contains`, `has`, joined by `and`), `project` (columns or `alias = column.path`),
 * `order by col [asc|desc]`, `take`/`limit n`. Anything else is a {@link KqlError}, as ARG answers
 * `InvalidQuery` for a query it cannot parse.
 */
export class KqlError extends Error {
  override readonly name = "KqlError";
}

type Row = Record<string, unknown>;

interface Condition {
  path: string[];
  op: string;
  values: string[];
}

type Stage =
  | { kind: "where"; conditions: Condition[] }
  | { kind: "project"; columns: Array<{ alias: string; path: string[] }> }
  | { kind: "order"; path: string[]; descending: boolean }
  | { kind: "take"; count: number };

export interface ParsedQuery {
  table: string;
  stages: Stage[];
}

/** Splits on `|` outside quotes. */
function splitPipes(query: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quote: string | undefined;
  for (const ch of query) {
    if (quote) {
      if (ch === quote) quote = undefined;
      current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      current += ch;
    } else if (ch === "|") {
      parts.push(current.trim());
      current = "";
    } else current += ch;
  }
  if (quote) throw new KqlError("Unterminated string literal.");
  parts.push(current.trim());
  return parts;
}

const PATH = /^[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*|\[['"][^'"]+['"]\])*$/;

function parsePath(text: string): string[] {
  const t = text.trim();
  if (!PATH.test(t)) throw new KqlError(`Unsupported expression '${t}'.`);
  const out: string[] = [];
  for (const m of t.matchAll(/([A-Za-z_]\w*)|\[['"]([^'"]+)['"]\]/g)) out.push((m[1] ?? m[2]) as string);
  return out;
}

function parseString(text: string): string {
  const m = /^\s*(['"])(.*)\1\s*$/s.exec(text);
  if (!m) throw new KqlError(`Expected a string literal, got '${text.trim()}'.`);
  return m[2] as string;
}

/** Splits on ` and ` outside quotes and parentheses. */
function splitAnd(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quote: string | undefined;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (depth === 0 && /^\sand\s/i.test(text.slice(i, i + 5))) {
      parts.push(current);
      current = "";
      i += 4;
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

function parseCondition(text: string): Condition {
  const m = /^(.+?)\s+(=~|==|!=|!~|in~|in|startswith|contains|has)\s+(.+)$/is.exec(text.trim());
  if (!m) throw new KqlError(`Unsupported condition '${text.trim()}'.`);
  const [, left, rawOp, right] = m as unknown as [string, string, string, string];
  const op = rawOp.toLowerCase();
  if (op === "in" || op === "in~") {
    const list = /^\((.*)\)$/s.exec(right.trim());
    if (!list) throw new KqlError(`Expected a list after '${op}'.`);
    const values = (list[1] as string).split(",").map(parseString);
    return { path: parsePath(left), op, values };
  }
  return { path: parsePath(left), op, values: [parseString(right)] };
}

export function parseQuery(query: string): ParsedQuery {
  const [head, ...rest] = splitPipes(query);
  const table = (head ?? "").trim().toLowerCase();
  if (table !== "resources")
    throw new KqlError(`Unknown table '${head ?? ""}'. Only 'resources' is supported.`);
  const stages: Stage[] = [];
  for (const part of rest) {
    const m = /^(\w+)(?:\s+by)?\s*(.*)$/is.exec(part);
    const keyword = (m?.[1] ?? "").toLowerCase();
    const body = (m?.[2] ?? "").trim();
    switch (keyword) {
      case "where":
        stages.push({ kind: "where", conditions: splitAnd(body).map(parseCondition) });
        break;
      case "project":
        stages.push({
          kind: "project",
          columns: body.split(",").map((c) => {
            const eq = /^\s*(\w+)\s*=\s*(.+)$/.exec(c);
            if (eq) return { alias: eq[1] as string, path: parsePath(eq[2] as string) };
            const path = parsePath(c);
            return { alias: path[path.length - 1] as string, path };
          }),
        });
        break;
      case "order":
      case "sort": {
        const o = /^(\S+)(?:\s+(asc|desc))?$/i.exec(body);
        if (!o) throw new KqlError(`Unsupported order '${body}'.`);
        stages.push({
          kind: "order",
          path: parsePath(o[1] as string),
          descending: (o[2] ?? "desc").toLowerCase() === "desc",
        });
        break;
      }
      case "take":
      case "limit": {
        const n = Number(body);
        if (!Number.isInteger(n) || n < 0) throw new KqlError(`Expected a row count after '${keyword}'.`);
        stages.push({ kind: "take", count: n });
        break;
      }
      default:
        throw new KqlError(`Unsupported operator '${keyword || part}'.`);
    }
  }
  return { table, stages };
}

function get(row: Row, path: string[]): unknown {
  let value: unknown = row;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    const obj = value as Record<string, unknown>;
    // Column and property names compare case-sensitively in KQL, but ARM property bags vary in casing.
    value =
      key in obj ? obj[key] : obj[Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase()) ?? key];
  }
  return value;
}

function matches(row: Row, c: Condition): boolean {
  const raw = get(row, c.path);
  const v = raw === undefined || raw === null ? "" : typeof raw === "string" ? raw : JSON.stringify(raw);
  const [first = ""] = c.values;
  switch (c.op) {
    case "==":
      return v === first;
    case "=~":
      return v.toLowerCase() === first.toLowerCase();
    case "!=":
      return v !== first;
    case "!~":
      return v.toLowerCase() !== first.toLowerCase();
    case "in":
      return c.values.includes(v);
    case "in~":
      return c.values.some((x) => x.toLowerCase() === v.toLowerCase());
    case "startswith":
      return v.toLowerCase().startsWith(first.toLowerCase());
    case "contains":
      return v.toLowerCase().includes(first.toLowerCase());
    case "has":
      return new RegExp(
        `(^|[^a-z0-9])${first.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^a-z0-9])`,
        "i",
      ).test(v);
    default:
      return false;
  }
}

/** Runs the parsed query over rows (already limited to the requested subscriptions). */
export function runQuery(parsed: ParsedQuery, rows: readonly Row[]): Row[] {
  let out: Row[] = [...rows];
  for (const stage of parsed.stages) {
    switch (stage.kind) {
      case "where":
        out = out.filter((r) => stage.conditions.every((c) => matches(r, c)));
        break;
      case "project":
        out = out.map((r) => Object.fromEntries(stage.columns.map((c) => [c.alias, get(r, c.path) ?? null])));
        break;
      case "order":
        out = [...out].sort((a, b) => {
          const x = String(get(a, stage.path) ?? "");
          const y = String(get(b, stage.path) ?? "");
          return stage.descending ? y.localeCompare(x) : x.localeCompare(y);
        });
        break;
      case "take":
        out = out.slice(0, stage.count);
        break;
    }
  }
  return out;
}
