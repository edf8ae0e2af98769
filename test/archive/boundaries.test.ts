import path from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function importErrors(filePath: string, text: string): Promise<string[]> {
  const [result] = await new ESLint({ cwd: repoRoot }).lintText(text, {
    filePath: path.join(repoRoot, filePath),
  });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === "no-restricted-imports")
    .map((m) => `${m.line}: ${m.message}`);
}

describe("src/lib/archive stays pure", () => {
  it("refuses other src/lib folders, @azure and other packages, naming the rule", async () => {
    const probe = [
      'import { ensureError } from "../errors.js";',
      'import { BlobClient } from "@azure/storage-blob";',
      'import { readFile } from "node:fs/promises";',
      "export const probe = [ensureError, BlobClient, readFile];",
      "",
    ].join("\n");
    expect(await importErrors("src/lib/archive/probe.ts", probe)).toEqual([
      "1: '../errors.js' import is restricted from being used by a pattern. src/lib/archive is pure: it imports only node built-ins (stream, zlib) and itself.",
      "2: '@azure/storage-blob' import is restricted from being used by a pattern. src/lib/archive is pure: only node:stream, node:zlib and node:buffer (no @azure or other packages).",
      "3: 'node:fs/promises' import is restricted from being used by a pattern. src/lib/archive is pure: only node:stream, node:zlib and node:buffer (no @azure or other packages).",
    ]);
  });

  it("lets it import node:zlib, node:stream and itself", async () => {
    const probe = [
      'import { createInflate } from "node:zlib";',
      'import { Readable } from "node:stream";',
      'import { ArchiveError } from "./errors.js";',
      "export const probe = [createInflate, Readable, ArchiveError];",
      "",
    ].join("\n");
    expect(await importErrors("src/lib/archive/probe.ts", probe)).toEqual([]);
  });
});
