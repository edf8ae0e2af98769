import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import {
  compileInfra,
  diagnostics,
  infraDir,
  locateBicep,
  pinnedBicepVersion,
  runBicep,
  skipReason,
} from "./bicep.js";

const bicep = locateBicep();
const reason = skipReason(bicep);
const bicepPath = bicep.found ? bicep.path : "";

function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return bicepFiles(path);
    return entry.name.endsWith(".bicep") ? [relative(infraDir, path)] : [];
  });
}

describe.skipIf(reason !== undefined)(`Bicep CLI checks${reason ? ` (skipped: ${reason})` : ""}`, () => {
  it("runs the Bicep CLI version tools/install-bicep.sh pins", async () => {
    const run = await runBicep(bicepPath, ["--version"]);
    expect(run.output).toContain(`Bicep CLI version ${pinnedBicepVersion()} `);
  });

  it("compiles every Bicep file under infra/ with no errors or warnings", async () => {
    const compiled = await compileInfra(bicepPath);
    expect(diagnostics(compiled.build.output)).toEqual([]);
    expect(compiled.build.exitCode).toBe(0);
    const files = bicepFiles(infraDir).sort();
    expect(files).toContain("main.bicep");
    expect(files).toContain("events.bicep");
    const missing = files.filter((f) => !existsSync(join(compiled.outDir, f.replace(/\.bicep$/, ".json"))));
    expect(missing).toEqual([]);
  });

  it("lints every Bicep file under infra/ with no errors or warnings", async () => {
    const run = await runBicep(bicepPath, ["lint", "--pattern", "infra/**/*.bicep"]);
    expect(diagnostics(run.output)).toEqual([]);
    expect(run.exitCode).toBe(0);
  });

  it("keeps every Bicep file as bicep format writes it", async () => {
    // `format --pattern` rewrites in place and cannot write elsewhere: format a copy and compare.
    const copy = mkdtempSync(join(tmpdir(), "pgflex-format-"));
    cpSync(infraDir, copy, { recursive: true });
    const run = await runBicep(bicepPath, ["format", "--pattern", "**/*.bicep"], copy);
    expect(run.exitCode).toBe(0);
    const unformatted = bicepFiles(infraDir).filter(
      (f) => readFileSync(join(infraDir, f), "utf8") !== readFileSync(join(copy, f), "utf8"),
    );
    expect(unformatted).toEqual([]);
  });

  it("reports a linter warning as a diagnostic line, so the checks above fail on warnings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pgflex-lint-"));
    writeFileSync(join(dir, "unused.bicep"), "param unused string\n");
    const run = await runBicep(bicepPath, ["lint", join(dir, "unused.bicep")], dir);
    expect(diagnostics(run.output)).toEqual([
      `${join(dir, "unused.bicep")}(1,7) : Warning no-unused-params: Parameter "unused" is declared but never used. [https://aka.ms/bicep/linter-diagnostics#no-unused-params]`,
    ]);
  });
});
