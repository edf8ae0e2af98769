import path from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { importCycleProblems } from "../../tools/importCycles.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Lints `text` as if it were the file at `filePath` (nothing is written) and returns its import errors. */
async function importErrors(filePath: string, text: string): Promise<string[]> {
  const [result] = await new ESLint({ cwd: repoRoot }).lintText(text, {
    filePath: path.join(repoRoot, filePath),
  });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === "no-restricted-imports")
    .map((m) => `${m.line}: ${m.message}`);
}

describe("layer boundaries", () => {
  it("refuses a store import in src/lib/azure, naming the rule", async () => {
    const probe =
      'import { parseServerId } from "../store/servers.js";\nexport const parse = parseServerId;\n';
    expect(await importErrors("src/lib/azure/probe.ts", probe)).toEqual([
      "1: '../store/servers.js' import is restricted from being used by a pattern. src/lib/azure imports only the base (config, domain, util, errors.ts, logger.ts) and itself.",
    ]);
  });

  it("lets src/lib/azure import the base and itself", async () => {
    const probe = [
      'import type { SweepFailure } from "../../domain/compliance.js";',
      'import { ensureError } from "../../errors.js";',
      'import type { ArmClients } from "../clients.js";',
      "export type Probe = [SweepFailure, ArmClients, typeof ensureError];",
      "",
    ].join("\n");
    expect(await importErrors("src/lib/azure/inventory/probe.ts", probe)).toEqual([]);
  });

  it("keeps capabilities and other SDKs out of src/lib/store", async () => {
    const probe = [
      'import { createSweeper } from "../compliance/sweeper.js";',
      'import { PostgreSQLManagementFlexibleServerClient } from "@azure/arm-postgresql-flexible";',
      "export const probe = [createSweeper, PostgreSQLManagementFlexibleServerClient];",
      "",
    ].join("\n");
    expect(await importErrors("src/lib/store/probe.ts", probe)).toEqual([
      "1: '../compliance/sweeper.js' import is restricted from being used by a pattern. src/lib/store imports only the base (config, domain, util, errors.ts, logger.ts) and itself.",
      "2: '@azure/arm-postgresql-flexible' import is restricted from being used by a pattern. Only src/lib/azure calls ARM.",
    ]);
  });

  it("keeps auth from importing http and src from loading tooling", async () => {
    expect(
      await importErrors("src/lib/auth/probe.ts", 'export { ApiError } from "../http/errors.js";\n'),
    ).toEqual([
      "1: '../http/errors.js' import is restricted from being used by a pattern. src/lib/auth imports only the base (http renders its AuthError, never the other way round).",
    ]);
    expect(
      await importErrors(
        "src/functions/probe.ts",
        'export { startEmulator } from "../../dev/emulator/index.js";\n',
      ),
    ).toEqual([
      "1: '../../dev/emulator/index.js' import is restricted from being used by a pattern. src never imports dev, bench, drills or test: they are not deployed.",
    ]);
  });
});

describe("import cycles", () => {
  it("finds a module cycle and a folder cycle in the fixture", async () => {
    expect(await importCycleProblems(path.join(repoRoot, "test/fixtures/importCycles"))).toEqual([
      "module cycle: loop/second.ts -> loop/first.ts -> loop/second.ts",
      "folder cycle: lib/billing -> lib/orders -> lib/billing",
    ]);
  });

  it("finds none in src beyond the lint config's temporary exceptions", async () => {
    expect(await importCycleProblems(path.join(repoRoot, "src"))).toEqual([]);
  });
});
