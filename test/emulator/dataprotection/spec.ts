import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import type { ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";
import { withoutNulls } from "../spec.js";

/**
 * Validates emulator responses against the Microsoft.DataProtection 2024-04-01 swagger in `../shared`:
 * status code declared for the operation, body valid for the declared schema (required fields, types,
 * enum values), and the declared LRO headers present.
 */

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

interface SwaggerOperation {
  operationId: string;
  responses: Record<string, { schema?: { $ref?: string }; headers?: Record<string, unknown> }>;
}

export interface SpecValidator {
  /** Problems found; empty when the response conforms. */
  checkResponse(
    operationId: string,
    response: { status: number; headers: Record<string, string>; body: unknown },
  ): string[];
  /** Problems of `body` against `#/definitions/{name}`. */
  checkDefinition(name: string, body: unknown): string[];
  operationIds(): string[];
}

export function loadDataProtectionSpec(specDir: string): SpecValidator {
  const read = (file: string): string => readFileSync(join(specDir, file), "utf8");
  const rewrite = (text: string): unknown =>
    JSON.parse(
      text
        .replaceAll('"../../../../../common-types/resource-management/v4/types.json#', '"ctv4types#')
        .replaceAll(
          '"../../../../../common-types/resource-management/v4/managedidentity.json#',
          '"ctv4identity#',
        )
        .replaceAll('"../../../../../common-types/resource-management/v5/types.json#', '"ctv5types#')
        .replaceAll('"./types.json#', '"ctv4types#'),
    );
  const main = rewrite(read("dataprotection.json")) as {
    paths: Record<string, Record<string, SwaggerOperation>>;
  };
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  for (const f of ["arm-id", "int32", "int64", "double", "float", "unixtime"]) ajv.addFormat(f, true);
  ajv.addSchema(main as object, "dp");
  ajv.addSchema(rewrite(read("common-types/resource-management/v4/types.json")) as object, "ctv4types");
  ajv.addSchema(
    rewrite(read("common-types/resource-management/v4/managedidentity.json")) as object,
    "ctv4identity",
  );
  ajv.addSchema(rewrite(read("common-types/resource-management/v5/types.json")) as object, "ctv5types");

  const operations = new Map<string, SwaggerOperation>();
  for (const ops of Object.values(main.paths)) {
    for (const op of Object.values(ops))
      if (op && typeof op === "object" && "operationId" in op) operations.set(op.operationId, op);
  }

  const validateRef = (ref: string, body: unknown): string[] => {
    const target = ref.startsWith("#") ? `dp${ref}` : ref;
    const validate = ajv.getSchema(target) ?? ajv.compile({ $ref: target });
    if (validate(withoutNulls(body))) return [];
    return (validate.errors ?? []).map(
      (e: ErrorObject) =>
        `${e.instancePath || "/"} ${e.message ?? ""}${e.params && "allowedValues" in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ""}`,
    );
  };

  return {
    operationIds: () => [...operations.keys()],
    checkDefinition: (name, body) => validateRef(`#/definitions/${name}`, body),
    checkResponse(operationId, response) {
      const op = operations.get(operationId);
      if (!op) return [`no operation ${operationId} in the spec`];
      const declared = op.responses[String(response.status)];
      const problems: string[] = [];
      if (!declared) {
        if (response.status < 400)
          return [
            `status ${response.status} is not declared for ${operationId} (${Object.keys(op.responses).join(", ")})`,
          ];
        return validateRef(
          op.responses.default?.schema?.$ref ?? "#/definitions/CloudError",
          response.body,
        ).map((p) => `error body: ${p}`);
      }
      if (declared.schema?.$ref) problems.push(...validateRef(declared.schema.$ref, response.body));
      else if (response.body !== undefined && response.body !== "")
        problems.push(`a body was sent where ${operationId} ${response.status} declares none`);
      for (const header of Object.keys(declared.headers ?? {})) {
        // Retry-After is declared but Azure omits it (see the recording); the other LRO headers are required.
        if (header.toLowerCase() === "retry-after") continue;
        if (response.headers[header.toLowerCase()] === undefined) problems.push(`header ${header} missing`);
      }
      return problems;
    },
  };
}
