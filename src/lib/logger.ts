import { settings } from "./config/settings.js";

/** Logging seam for src/lib: free of trigger types, adapted from InvocationContext by the function adapters. */
export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

export interface ContextLike {
  trace(...args: unknown[]): void;
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export function loggerFromContext(context: ContextLike): Logger {
  return {
    debug: (m, ...a) => context.trace(m, ...a),
    info: (m, ...a) => context.log(m, ...a),
    warn: (m, ...a) => context.warn(m, ...a),
    error: (m, ...a) => context.error(m, ...a),
  };
}

const levels = { debug: 0, info: 1, warn: 2, error: 3 } as const;

/** A console logger with a component prefix; level from PGFLEX_LOG_LEVEL (default info). */
export function createConsoleLogger(component: string, level: keyof typeof levels = envLevel()): Logger {
  const min = levels[level];
  const at =
    (l: keyof typeof levels, sink: (...a: unknown[]) => void) =>
    (m: string, ...a: unknown[]) => {
      if (levels[l] >= min) sink(`[${component}] ${m}`, ...a);
    };
  return {
    debug: at("debug", console.debug),
    info: at("info", console.info),
    warn: at("warn", console.warn),
    error: at("error", console.error),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function envLevel(): keyof typeof levels {
  const v = (process.env[settings.logLevel.name] ?? "info").toLowerCase();
  return v in levels ? (v as keyof typeof levels) : "info";
}
