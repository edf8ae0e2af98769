/**
 * The KQL subset the emulator's Resource Graph answers — what pgflex-autoprotect sends, what Az PowerShell's
 * `Search-AzDataProtectionJobInAzGraph` and `Search-AzDataProtectionBackupInstanceInAzGraph` (and az CLI's
 * `dataprotection … list-from-resourcegraph`) send, plus a little:
 *
 *   resources | where type =~ 'microsoft.dbforpostgresql/flexibleservers' | project id, name, tags
 *   RecoveryServicesResources | where type =~ 'microsoft.dataprotection/backupvaults/backupinstances'
 *     | extend vaultName = split(split(id, '/Microsoft.DataProtection/backupVaults/')[1],'/')[0]
 *     | extend protectionState = properties.currentProtectionState
 *   RecoveryServicesResources | where type =~ 'microsoft.dataprotection/backupvaults/backupjobs'
 *     | extend vaultName = properties.vaultName | extend operation = case(tolower(...) startswith 'backup'
 *     and properties.isUserTriggered == 'true', strcat('OnDemand', properties.operationCategory), ..., 'Invalid')
 *     | where properties.dataSourceType in~ ('Microsoft.DBforPostgreSQL/flexibleServers')
 *     | where properties.startTime > datetime(2024-04-10T00:00:00Z)
 *
 * Tables: `resources`, `recoveryservicesresources` (names compare case-insensitively). Operators: `where`
 * (comparisons `==`, `=~`, `!=`, `!~`, `>`, `>=`, `<`, `<=`, `in~ (...)`, `in (...)`, `startswith`,
 * `contains`, `has`, joined by `and`/`or`, parentheses), `extend alias = expression`, `project` (columns or
 * `alias = expression`), `order by col [asc|desc]`, `take`/`limit n`. Expressions: columns and property paths,
 * string literals, `true`/`false`, numbers, `datetime(...)`, `tolower`, `toupper`, `tostring`, `strcat`, `case`,
 * `iff` and `split` with an element index (`split(split(id, '/backupVaults/')[1], '/')[0]`). A value compared with a `datetime` is read as a time. Anything else is a {@link KqlError}, as ARG
 * answers `InvalidQuery` for a query it cannot parse.
 */
export class KqlError extends Error {
  override readonly name = "KqlError";
}

type Row = Record<string, unknown>;

export type Expr =
  | { kind: "literal"; value: unknown }
  | { kind: "datetime"; ms: number }
  | { kind: "path"; path: string[] }
  | { kind: "call"; name: string; args: Expr[] }
  | { kind: "index"; target: Expr; index: number }
  | { kind: "binary"; op: string; left: Expr; right: Expr }
  | { kind: "in"; op: "in" | "in~"; left: Expr; values: Expr[] };

type Stage =
  | { kind: "where"; predicate: Expr }
  | { kind: "extend"; columns: Array<{ alias: string; expr: Expr }> }
  | { kind: "project"; columns: Array<{ alias: string; expr: Expr }> }
  | { kind: "order"; path: string[]; descending: boolean }
  | { kind: "take"; count: number };

export interface ParsedQuery {
  /** Lower-cased table name. */
  table: string;
  stages: Stage[];
}

export const KQL_TABLES = ["resources", "recoveryservicesresources"] as const;

/** Splits on `sep` outside quotes and parentheses. */
function splitOutside(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quote: string | undefined;
  let depth = 0;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === sep && depth === 0) {
      parts.push(current.trim());
      current = "";
      continue;
    }
    current += ch;
  }
  if (quote) throw new KqlError("Unterminated string literal.");
  parts.push(current.trim());
  return parts;
}

// ---------- expressions ----------

type Token =
  { t: "str"; v: string } | { t: "num"; v: number } | { t: "id"; v: string } | { t: "op"; v: string };

const OPERATORS = ["==", "=~", "!=", "!~", ">=", "<=", ">", "<", "(", ")", ",", "[", "]", "."];

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) throw new KqlError("Unterminated string literal.");
      out.push({ t: "str", v: text.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const word = /^[A-Za-z_]\w*(?:~)?/.exec(text.slice(i))?.[0];
    if (word) {
      // `datetime(2024-04-10T00:00:00Z)` takes its argument unquoted: read it raw.
      if (word.toLowerCase() === "datetime" && /^\s*\(/.test(text.slice(i + word.length))) {
        const open = text.indexOf("(", i);
        const close = text.indexOf(")", open);
        if (close < 0) throw new KqlError("Unterminated datetime(...).");
        const raw = text
          .slice(open + 1, close)
          .trim()
          .replace(/^(['"])(.*)\1$/, "$2");
        const ms = Date.parse(raw);
        if (Number.isNaN(ms)) throw new KqlError(`Invalid datetime '${raw}'.`);
        out.push({ t: "id", v: "datetime" }, { t: "num", v: ms });
        i = close + 1;
        continue;
      }
      out.push({ t: "id", v: word });
      i += word.length;
      continue;
    }
    const num = /^\d+(?:\.\d+)?/.exec(text.slice(i))?.[0];
    if (num) {
      out.push({ t: "num", v: Number(num) });
      i += num.length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) throw new KqlError(`Unsupported expression '${text.trim()}'.`);
    out.push({ t: "op", v: op });
    i += op.length;
  }
  return out;
}

const WORD_OPERATORS = new Set(["startswith", "contains", "has"]);
const COMPARISONS = new Set(["==", "=~", "!=", "!~", ">", ">=", "<", "<="]);
const FUNCTIONS = new Set(["tolower", "toupper", "tostring", "strcat", "case", "iff", "split"]);

function parseExpression(text: string): Expr {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (v: string): boolean => {
    const t = peek();
    return t?.t === "op" && t.v === v;
  };
  const isWord = (v: string): boolean => {
    const t = peek();
    return t?.t === "id" && t.v.toLowerCase() === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) throw new KqlError(`Expected '${v}' in '${text.trim()}'.`);
    pos++;
  };

  function primary(): Expr {
    const t = peek();
    if (!t) throw new KqlError(`Incomplete expression '${text.trim()}'.`);
    if (t.t === "str") {
      pos++;
      return { kind: "literal", value: t.v };
    }
    if (t.t === "num") {
      pos++;
      return { kind: "literal", value: t.v };
    }
    if (t.t === "op" && t.v === "(") {
      pos++;
      const inner = or();
      expect(")");
      return inner;
    }
    if (t.t !== "id") throw new KqlError(`Unsupported expression '${text.trim()}'.`);
    pos++;
    const name = t.v.toLowerCase();
    if (name === "true" || name === "false") return { kind: "literal", value: name === "true" };
    if (name === "datetime") {
      const ms = peek();
      pos++;
      return { kind: "datetime", ms: (ms as { v: number }).v };
    }
    if (isOp("(")) {
      if (!FUNCTIONS.has(name)) throw new KqlError(`Unsupported function '${t.v}'.`);
      pos++;
      const args: Expr[] = [];
      if (!isOp(")")) {
        args.push(or());
        while (isOp(",")) {
          pos++;
          args.push(or());
        }
      }
      expect(")");
      // `split(...)[1]`: an element of the array a call answers.
      let call: Expr = { kind: "call", name, args };
      while (isOp("[")) {
        pos++;
        const index = peek();
        if (index?.t !== "num" || !Number.isInteger(index.v))
          throw new KqlError(`Expected an array index in '${text.trim()}'.`);
        pos++;
        expect("]");
        call = { kind: "index", target: call, index: index.v };
      }
      return call;
    }
    const path = [t.v];
    for (;;) {
      if (isOp(".")) {
        pos++;
        const next = peek();
        if (next?.t !== "id") throw new KqlError(`Unsupported expression '${text.trim()}'.`);
        path.push(next.v);
        pos++;
      } else if (isOp("[")) {
        pos++;
        const next = peek();
        if (next?.t !== "str") throw new KqlError(`Unsupported expression '${text.trim()}'.`);
        path.push(next.v);
        pos++;
        expect("]");
      } else break;
    }
    return { kind: "path", path };
  }

  function comparison(): Expr {
    const left = primary();
    const t = peek();
    if (t?.t === "op" && COMPARISONS.has(t.v)) {
      pos++;
      return { kind: "binary", op: t.v, left, right: primary() };
    }
    if (t?.t === "id") {
      const word = t.v.toLowerCase();
      if (WORD_OPERATORS.has(word)) {
        pos++;
        return { kind: "binary", op: word, left, right: primary() };
      }
      if (word === "in" || word === "in~") {
        pos++;
        expect("(");
        const values = [primary()];
        while (isOp(",")) {
          pos++;
          values.push(primary());
        }
        expect(")");
        return { kind: "in", op: word, left, values };
      }
    }
    return left;
  }

  function and(): Expr {
    let left = comparison();
    while (isWord("and")) {
      pos++;
      left = { kind: "binary", op: "and", left, right: comparison() };
    }
    return left;
  }

  function or(): Expr {
    let left = and();
    while (isWord("or")) {
      pos++;
      left = { kind: "binary", op: "or", left, right: and() };
    }
    return left;
  }

  const expr = or();
  if (pos < tokens.length) throw new KqlError(`Unsupported condition '${text.trim()}'.`);
  return expr;
}

function parseAssignments(body: string): Array<{ alias: string; expr: Expr }> {
  return splitOutside(body, ",").map((c) => {
    const eq = /^\s*(\w+)\s*=(?![=~])\s*(.+)$/s.exec(c);
    if (eq) return { alias: eq[1] as string, expr: parseExpression(eq[2] as string) };
    const expr = parseExpression(c);
    if (expr.kind !== "path") throw new KqlError(`Expected 'name = expression', got '${c.trim()}'.`);
    return { alias: expr.path[expr.path.length - 1] as string, expr };
  });
}

export function parseQuery(query: string): ParsedQuery {
  const [head, ...rest] = splitOutside(query, "|");
  const table = (head ?? "").trim().toLowerCase();
  if (!(KQL_TABLES as readonly string[]).includes(table))
    throw new KqlError(
      `Unknown table '${head ?? ""}'. Only 'resources' and 'RecoveryServicesResources' are supported.`,
    );
  const stages: Stage[] = [];
  for (const part of rest) {
    const m = /^(\w+)(?:\s+by)?\s*(.*)$/is.exec(part);
    const keyword = (m?.[1] ?? "").toLowerCase();
    const body = (m?.[2] ?? "").trim();
    switch (keyword) {
      case "where":
        stages.push({ kind: "where", predicate: parseExpression(body) });
        break;
      case "extend":
        stages.push({ kind: "extend", columns: parseAssignments(body) });
        break;
      case "project":
        stages.push({ kind: "project", columns: parseAssignments(body) });
        break;
      case "order":
      case "sort": {
        const o = /^(\S+)(?:\s+(asc|desc))?$/i.exec(body);
        const path = o ? parseExpression(o[1] as string) : undefined;
        if (!o || path?.kind !== "path") throw new KqlError(`Unsupported order '${body}'.`);
        stages.push({
          kind: "order",
          path: path.path,
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

/** Lower-cased type of a leading `where type =~ '...'` / `==` (alone or first of an `and`), when there is one. */
export function leadingType(parsed: ParsedQuery): string | undefined {
  const first = parsed.stages[0];
  if (first?.kind !== "where") return undefined;
  let e: Expr = first.predicate;
  while (e.kind === "binary" && e.op === "and") e = e.left;
  if (
    e.kind === "binary" &&
    (e.op === "=~" || e.op === "==") &&
    e.left.kind === "path" &&
    e.left.path.length === 1 &&
    e.left.path[0] === "type" &&
    e.right.kind === "literal" &&
    typeof e.right.value === "string"
  )
    return e.right.value.toLowerCase();
  return undefined;
}

// ---------- evaluation ----------

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

/** A `datetime(...)` value. */
class KqlTime {
  constructor(readonly ms: number) {}
}
type Value = unknown;

function text(v: Value): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (v instanceof KqlTime) return new Date(v.ms).toISOString();
  return JSON.stringify(v);
}

function timeOf(v: Value): number {
  if (v instanceof KqlTime) return v.ms;
  if (typeof v === "number") return v;
  return Date.parse(text(v));
}

const isTime = (v: Value): boolean => v instanceof KqlTime;

function compare(op: string, a: Value, b: Value): boolean {
  if (isTime(a) || isTime(b)) {
    const x = timeOf(a);
    const y = timeOf(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
    return op === "==" || op === "=~"
      ? x === y
      : op === "!=" || op === "!~"
        ? x !== y
        : op === ">"
          ? x > y
          : op === ">="
            ? x >= y
            : op === "<"
              ? x < y
              : x <= y;
  }
  if (
    (op === ">" || op === ">=" || op === "<" || op === "<=") &&
    typeof a === "number" &&
    typeof b === "number"
  )
    return op === ">" ? a > b : op === ">=" ? a >= b : op === "<" ? a < b : a <= b;
  const x = text(a);
  const y = text(b);
  switch (op) {
    case "==":
      return x === y;
    case "=~":
      return x.toLowerCase() === y.toLowerCase();
    case "!=":
      return x !== y;
    case "!~":
      return x.toLowerCase() !== y.toLowerCase();
    case ">":
      return x > y;
    case ">=":
      return x >= y;
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case "startswith":
      return x.toLowerCase().startsWith(y.toLowerCase());
    case "contains":
      return x.toLowerCase().includes(y.toLowerCase());
    case "has":
      return new RegExp(`(^|[^a-z0-9])${y.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^a-z0-9])`, "i").test(x);
    default:
      return false;
  }
}

function evaluate(e: Expr, row: Row): Value {
  switch (e.kind) {
    case "literal":
      return e.value;
    case "datetime":
      return new KqlTime(e.ms);
    case "path":
      return get(row, e.path);
    case "index": {
      const target = evaluate(e.target, row);
      return Array.isArray(target) ? target[e.index] : undefined;
    }
    case "in": {
      const v = text(evaluate(e.left, row));
      const values = e.values.map((x) => text(evaluate(x, row)));
      return e.op === "in" ? values.includes(v) : values.some((x) => x.toLowerCase() === v.toLowerCase());
    }
    case "binary":
      if (e.op === "and") return evaluate(e.left, row) === true && evaluate(e.right, row) === true;
      if (e.op === "or") return evaluate(e.left, row) === true || evaluate(e.right, row) === true;
      return compare(e.op, evaluate(e.left, row), evaluate(e.right, row));
    case "call": {
      const args = e.args.map((a) => evaluate(a, row));
      switch (e.name) {
        case "tolower":
          return text(args[0]).toLowerCase();
        case "toupper":
          return text(args[0]).toUpperCase();
        case "tostring":
          return text(args[0]);
        case "strcat":
          return args.map(text).join("");
        case "iff":
          return args[0] === true ? args[1] : args[2];
        case "split":
          return text(args[0]).split(text(args[1]));
        case "case": {
          for (let i = 0; i + 1 < args.length; i += 2) if (args[i] === true) return args[i + 1];
          return args.length % 2 === 1 ? args[args.length - 1] : undefined;
        }
        default:
          throw new KqlError(`Unsupported function '${e.name}'.`);
      }
    }
  }
}

/** A value as a result column carries it (times as ISO strings). */
function output(v: Value): unknown {
  return isTime(v) ? text(v) : (v ?? null);
}

/** Runs the parsed query over rows (already limited to the requested subscriptions). */
export function runQuery(parsed: ParsedQuery, rows: readonly Row[]): Row[] {
  let out: Row[] = [...rows];
  for (const stage of parsed.stages) {
    switch (stage.kind) {
      case "where":
        out = out.filter((r) => evaluate(stage.predicate, r) === true);
        break;
      case "extend":
        out = out.map((r) => {
          const next = { ...r };
          for (const c of stage.columns) next[c.alias] = output(evaluate(c.expr, next));
          return next;
        });
        break;
      case "project":
        out = out.map((r) =>
          Object.fromEntries(stage.columns.map((c) => [c.alias, output(evaluate(c.expr, r))])),
        );
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
