import type { z } from "zod";
import { ApiError } from "./errors.js";
import type { ApiRequest } from "./types.js";

/** Bodies larger than this are refused with 413 (matches the queue message limit the work may travel in). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface ReadJsonBodyOptions {
  /** Default {@link MAX_BODY_BYTES}. */
  maxBytes?: number;
  /** When true an empty body parses as `{}`. */
  optional?: boolean;
}

/**
 * Reads and validates a JSON body: 413 when too large (checked on Content-Length first, then on the bytes),
 * 415 for another content type, 400 for malformed JSON or a value the schema refuses (naming the field).
 */
export async function readJsonBody<S extends z.ZodType>(
  request: ApiRequest,
  schema: S,
  options: ReadJsonBodyOptions = {},
): Promise<z.output<S>> {
  const maxBytes = options.maxBytes ?? MAX_BODY_BYTES;
  const declared = Number(request.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const text = await request.text();
  if (Buffer.byteLength(text, "utf8") > maxBytes) throw tooLarge(maxBytes);
  if (text.trim() === "") {
    if (options.optional) return parseWith(schema, {});
    throw new ApiError(400, "MissingBody", "The request needs a JSON body.", {
      fix: "Send a JSON object with Content-Type: application/json.",
    });
  }
  const contentType = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (contentType !== "application/json") {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `Content type "${contentType || "(none)"}" is not supported; send application/json.`,
      { fix: "Set the header Content-Type: application/json." },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(400, "InvalidJson", "The request body is not valid JSON.", {
      fix: "Send a JSON object.",
    });
  }
  return parseWith(schema, parsed);
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const target = issue?.path.length ? issue.path.join(".") : undefined;
  const unknownKeys = issue?.code === "unrecognized_keys" ? issue.keys : undefined;
  if (unknownKeys) {
    throw new ApiError(400, "UnknownField", `Unknown field(s) in the body: ${unknownKeys.join(", ")}.`, {
      target: unknownKeys[0],
    });
  }
  throw new ApiError(
    400,
    "InvalidBody",
    `Invalid body${target ? ` field "${target}"` : ""}: ${issue?.message ?? "invalid value"}.`,
    {
      ...(target ? { target } : {}),
    },
  );
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "PayloadTooLarge", `The request body is larger than ${maxBytes / 1024} KiB.`, {
    fix: "Send a smaller body.",
  });
}
