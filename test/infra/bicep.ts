import { execFile } from "node:child_process";
import { accessSync, constants, cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file is test/infra/bicep.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const infraDir = join(repoRoot, "infra");

/** The version tools/install-bicep.sh pins; one place to change it. */
export function pinnedBicepVersion(): string {
  const script = readFileSync(join(repoRoot, "tools/install-bicep.sh"), "utf8");
  const match = /^PINNED_VERSION="([^"]+)"$/m.exec(script);
  if (!match?.[1]) throw new Error("tools/install-bicep.sh has no PINNED_VERSION");
  return match[1];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export type BicepLocation = { found: true; path: string } | { found: false; reason: string };

/**
 * The Bicep CLI: `BICEP_PATH`, else the binary tools/install-bicep.sh caches, else `bicep` on PATH.
 * `.ci/run` installs it and sets BICEP_PATH, so CI never skips.
 */
export function locateBicep(env: NodeJS.ProcessEnv = process.env): BicepLocation {
  const explicit = env.BICEP_PATH;
  if (explicit) {
    return isExecutable(explicit)
      ? { found: true, path: explicit }
      : { found: false, reason: `BICEP_PATH=${explicit} is not an executable file` };
  }
  const cacheRoot =
    env.PGFLEX_TOOLS_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "pgflex-autoprotect");
  const cached = join(cacheRoot, "bicep", pinnedBicepVersion(), "bicep");
  if (isExecutable(cached)) return { found: true, path: cached };
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, "bicep"))) return { found: true, path: join(dir, "bicep") };
  }
  return { found: false, reason: "the Bicep CLI is not installed: run tools/install-bicep.sh (CI does)" };
}

/** Fails instead of skipping where the CLI must exist (BICEP_PATH set, as .ci/run does). */
export function skipReason(location: BicepLocation): string | undefined {
  if (location.found) return undefined;
  if (process.env.BICEP_PATH) throw new Error(location.reason);
  return location.reason;
}

export interface BicepRun {
  exitCode: number;
  output: string;
}

export function runBicep(bicep: string, args: string[], cwd = repoRoot): Promise<BicepRun> {
  return new Promise((resolvePromise) => {
    // Invariant globalization: the CLI needs no ICU then, and its output does not depend on the locale.
    const env = { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: "1" };
    execFile(bicep, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolvePromise({ exitCode, output: `${stdout}${stderr}` });
    });
  });
}

/** Diagnostic lines (`file(line,col) : Error|Warning|Info code: message`) in a Bicep CLI output. */
export function diagnostics(output: string): string[] {
  return output
    .split(/\r?\n/)
    .filter((line) => /^.+\(\d+,\d+\) : (Error|Warning|Info) /.test(line))
    .map((line) => line.replace(`${repoRoot}/`, ""));
}

export interface CompiledInfra {
  outDir: string;
  build: BicepRun;
  /** ARM JSON of `infra/<relative path>.bicep`, e.g. `template("app/scope")`. */
  template(relativePath: string): ArmTemplate;
}

export interface ArmResource {
  type: string;
  name: string;
  properties?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ArmTemplate {
  parameters?: Record<string, { type: string; defaultValue?: unknown; [key: string]: unknown }>;
  variables?: Record<string, unknown>;
  resources: ArmResource[] | Record<string, ArmResource>;
  outputs?: Record<string, { type: string; value?: unknown; copy?: unknown }>;
  [key: string]: unknown;
}

/** Compiles every infra/**\/*.bicep into a temporary folder in one CLI call. */
export async function compileInfra(bicep: string): Promise<CompiledInfra> {
  const outDir = mkdtempSync(join(tmpdir(), "pgflex-infra-"));
  const build = await runBicep(bicep, ["build", "--pattern", "infra/**/*.bicep", "--outdir", outDir]);
  return {
    outDir,
    build,
    template: (relativePath) =>
      JSON.parse(readFileSync(join(outDir, `${relativePath}.json`), "utf8")) as ArmTemplate,
  };
}

export function resourcesOf(template: ArmTemplate): ArmResource[] {
  return Array.isArray(template.resources) ? template.resources : Object.values(template.resources);
}

/** The nested deployment of a module, by its deployment name as written in the Bicep file. */
export function moduleDeployment(template: ArmTemplate, name: string | RegExp): ArmResource {
  const found = resourcesOf(template).find(
    (r) =>
      r.type === "Microsoft.Resources/deployments" &&
      (typeof name === "string" ? r.name === name : name.test(r.name)),
  );
  if (!found) throw new Error(`no module deployment named ${String(name)}`);
  return found;
}

/**
 * The value a module deployment passes for one parameter; a plain `[variables('x')]` reference is resolved
 * from the calling template.
 */
export function moduleParameter(template: ArmTemplate, deployment: ArmResource, parameter: string): unknown {
  const parameters = (deployment.properties?.parameters ?? {}) as Record<string, { value?: unknown }>;
  if (!(parameter in parameters)) throw new Error(`module ${deployment.name} has no parameter ${parameter}`);
  const value = parameters[parameter]?.value;
  const variable = typeof value === "string" ? /^\[variables\('(\w+)'\)\]$/.exec(value)?.[1] : undefined;
  return variable === undefined ? value : template.variables?.[variable];
}

export interface PredictedResource {
  id: string;
  type: string;
  name: string;
  location?: unknown;
  tags?: unknown;
  identity?: unknown;
  properties?: Record<string, unknown>;
}

export type Snapshot =
  | {
      ok: true;
      resources: PredictedResource[];
      outputs: Record<string, unknown>;
    }
  | { ok: false; output: string };

/**
 * What deploying `infra/main.bicep` with these parameters would create, as `bicep snapshot` predicts it offline
 * (expressions that need a deployed resource stay unevaluated). A failed evaluation, such as a `fail()` in the
 * template, comes back as `{ ok: false, output }`.
 */
export async function snapshotMain(
  bicep: string,
  params: Record<string, string | boolean | number>,
  subscriptionId: string,
): Promise<Snapshot> {
  const dir = mkdtempSync(join(tmpdir(), "pgflex-snapshot-"));
  cpSync(infraDir, dir, { recursive: true });
  const lines = [
    "using 'main.bicep'",
    ...Object.entries(params).map(([k, v]) => `param ${k} = ${typeof v === "string" ? `'${v}'` : String(v)}`),
  ];
  writeFileSync(join(dir, "test.bicepparam"), `${lines.join("\n")}\n`);
  const run = await runBicep(
    bicep,
    ["snapshot", "test.bicepparam", "--subscription-id", subscriptionId, "--location", "westeurope"],
    dir,
  );
  const file = join(dir, "test.snapshot.json");
  if (run.exitCode !== 0 || !existsSync(file)) return { ok: false, output: run.output };
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    predictedResources: PredictedResource[];
    outputs?: Record<string, unknown>;
  };
  return { ok: true, resources: snapshot.predictedResources, outputs: snapshot.outputs ?? {} };
}
