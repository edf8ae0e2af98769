import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

/** `<repo root>/../shared/azure-reference`: present in CI beside the clone, absent in a user's clone. */
export const REFERENCE_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "shared",
  "azure-reference",
);
export const HAS_REFERENCE = existsSync(REFERENCE_DIR);
export const SKIP_REASON = `official specs not found at ${REFERENCE_DIR} (they live in ../shared beside the clone)`;

const BASE = "https://specs.invalid/a/b/c/d/e/";
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

export function listJson(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(".json"));
}

function collectRefs(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) node.forEach((item) => collectRefs(item, into));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") into.add(value);
      else collectRefs(value, into);
    }
  }
}

/** Azure returns `null` for optional properties the specs type as non-nullable (the recording shows it). */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  }
  return value;
}

export interface SpecValidator {
  /** Validator of the response schema of `operationId` for `status` (`default` when the status is not listed). */
  response(operationId: string, status: number): ValidateFunction | undefined;
  /** Status codes and header names the spec declares for an operation. */
  operation(operationId: string): {
    method: string;
    path: string;
    responses: Record<string, { headers?: Record<string, unknown>; schema?: unknown }>;
  };
  errors(validate: ValidateFunction): string;
}

/**
 * Compiles a swagger file's schemas with ajv, resolving `$ref`s to ARM common types. The common-types
 * versions a spec names but `../shared` lacks (v2, v6) are served by v5, whose ErrorResponse, Resource and
 * TrackedResource have the same shape; other missing external definitions become open schemas.
 */
export function loadSpec(specPath: string): SpecValidator {
  const spec = readJson<Record<string, unknown>>(specPath);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat("arm-id", true);
  ajv.addFormat("duration", true);
  const specId = `${BASE}spec.json`;
  const v5 = readJson<Record<string, unknown>>(
    join(
      REFERENCE_DIR,
      "dataprotection-2024-04-01",
      "common-types",
      "resource-management",
      "v5",
      "types.json",
    ),
  );
  const refs = new Set<string>();
  collectRefs(spec, refs);
  const external = new Map<string, Set<string>>();
  for (const ref of refs) {
    const [file, pointer] = ref.split("#");
    if (!file) continue;
    const name = /^\/definitions\/(.+)$/u.exec(pointer ?? "")?.[1];
    const names = external.get(file) ?? new Set<string>();
    if (name) names.add(name);
    external.set(file, names);
  }
  for (const [file, names] of external) {
    const id = new URL(file, specId).href;
    if (/common-types\/resource-management\/v\d+\/types\.json$/u.test(file)) {
      ajv.addSchema({ ...v5, $id: id });
    } else {
      ajv.addSchema({ $id: id, definitions: Object.fromEntries([...names].map((n) => [n, {}])) });
    }
  }
  ajv.addSchema({ ...spec, $id: specId });

  const operations = new Map<
    string,
    {
      method: string;
      path: string;
      responses: Record<string, { headers?: Record<string, unknown>; schema?: unknown }>;
    }
  >();
  for (const [path, item] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === "parameters") continue;
      const operation = op as {
        operationId: string;
        responses: Record<string, { headers?: Record<string, unknown>; schema?: unknown }>;
      };
      operations.set(operation.operationId, {
        method: method.toUpperCase(),
        path,
        responses: operation.responses,
      });
    }
  }
  const cache = new Map<string, ValidateFunction>();
  return {
    operation(operationId) {
      const found = operations.get(operationId);
      if (!found) throw new Error(`No operation ${operationId} in ${specPath}`);
      return found;
    },
    response(operationId, status) {
      const op = this.operation(operationId);
      const key = op.responses[String(status)] ? String(status) : "default";
      const schema = op.responses[key]?.schema as { $ref?: string } | undefined;
      if (!schema) return undefined;
      const cacheKey = `${operationId}:${key}`;
      let validate = cache.get(cacheKey);
      if (!validate) {
        const ref = schema.$ref?.startsWith("#") ? `${specId}${schema.$ref}` : undefined;
        validate = ajv.compile(ref ? { $ref: ref } : { ...schema, $id: `${specId}-${cacheKey}` });
        cache.set(cacheKey, validate);
      }
      return validate;
    },
    errors: (validate) => ajv.errorsText(validate.errors, { separator: "\n" }),
  };
}
