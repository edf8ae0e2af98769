import type { z } from "zod";
import { settings, type SettingDefinition, type Settings } from "./settings.js";

export { settings } from "./settings.js";

type Parsed<K extends keyof Settings> = z.output<Settings[K]["schema"]>;

/** The app's configuration: every value validated, defaults applied. */
export type Config = {
  [K in keyof Settings]: Settings[K]["defaultValue"] extends string ? Parsed<K> : Parsed<K> | undefined;
};

export interface ConfigProblem {
  readonly variable: string;
  readonly value: string | undefined;
  readonly reason: string;
  readonly example: string;
}

/** Thrown at start when settings are invalid; lists every problem, each naming the variable and a good value. */
export class ConfigError extends RangeError {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `Invalid configuration:\n` +
        problems
          .map(
            (p) =>
              `  ${p.variable}=${p.value === undefined ? "(unset)" : JSON.stringify(p.value)}: ${p.reason}. Example: ${p.variable}=${p.example}`,
          )
          .join("\n"),
    );
  }
}

/** Reads and validates every setting from `env` (default: process.env). Throws {@link ConfigError}. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [key, def] of Object.entries(settings) as Array<[string, SettingDefinition]>) {
    const raw = env[def.name];
    const value = raw === undefined || raw.trim() === "" ? def.defaultValue : raw;
    if (value === undefined) {
      out[key] = undefined;
      continue;
    }
    const result = def.schema.safeParse(value);
    if (result.success) {
      out[key] = result.data;
    } else {
      problems.push({
        variable: def.name,
        value: def.secret ? "(hidden)" : raw,
        reason: result.error.issues.map((i) => i.message).join("; "),
        example: def.example,
      });
    }
  }
  const config = out as Config;
  problems.push(...crossCheck(config, env));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function crossCheck(config: Config, env: Record<string, string | undefined>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.armCredential === "emulator") {
    const host = new URL(config.armEndpoint).hostname;
    if (!(host === "localhost" || host.startsWith("127.") || host === "[::1]")) {
      problems.push({
        variable: settings.armCredential.name,
        value: env[settings.armCredential.name],
        reason: "the emulator credential is only allowed with a loopback PGFLEX_ARM_ENDPOINT",
        example: "managedIdentity",
      });
    }
  }
  if (!config.storageConnection && !config.storageAccountName) {
    problems.push({
      variable: settings.storageConnection.name,
      value: undefined,
      reason: `set either ${settings.storageConnection.name} (connection string) or ${settings.storageAccountName.name} (identity-based)`,
      example: settings.storageConnection.example,
    });
  }
  problems.push(...restoreTestProblems(config, env));
  return problems;
}

/** Restore tests write into PGFLEX_RESTORE_TEST_TARGET, which must be a target restores may write to. */
function restoreTestProblems(config: Config, env: Record<string, string | undefined>): ConfigProblem[] {
  const target = config.restoreTestTarget.replace(/\/+$/, "");
  if (!target) {
    return config.restoreTests
      ? [
          {
            variable: settings.restoreTestTarget.name,
            value: env[settings.restoreTestTarget.name],
            reason: `${settings.restoreTests.name} schedules restore tests: name the container they restore into (one of ${settings.restoreTargets.name})`,
            example: settings.restoreTestTarget.example,
          },
        ]
      : [];
  }
  const lower = target.toLowerCase();
  const allowed = config.restoreTargets.some((entry) => {
    const e = entry.toLowerCase();
    return e === lower || lower.startsWith(`${e}/blobservices/default/containers/`);
  });
  return allowed
    ? []
    : [
        {
          variable: settings.restoreTestTarget.name,
          value: env[settings.restoreTestTarget.name],
          reason: `the container is not in ${settings.restoreTargets.name} (${config.restoreTargets.join(", ") || "empty"}): add it (or its storage account) there, or pick one of those`,
          example:
            config.restoreTargets.find((t) => t.includes("/containers/")) ??
            settings.restoreTestTarget.example,
        },
      ];
}

let cached: Config | undefined;

/** Config read once per process; tests call {@link loadConfig} with their own env instead. */
export function getConfig(): Config {
  cached ??= loadConfig();
  return cached;
}

/** For tests and the local host, which change the environment between runs. */
export function resetConfigCache(): void {
  cached = undefined;
}
