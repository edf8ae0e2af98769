import js from "@eslint/js";
import tseslint from "typescript-eslint";

// ---------- layers and boundaries (docs/architecture.md, "Layers and boundaries") ----------

const capabilities = [
  "protection",
  "backups",
  "jobs",
  "compliance",
  "events",
  "alerts",
  "restore",
  "restoreTests",
];
const entryPoints = ["functions", "cli", "dashboard"];

/**
 * Relative imports, from a module one or more folders below src/lib, of the named src/lib folders or
 * top-level modules (`app` is src/lib/app.ts). Same-folder imports (`./x.js`) never match.
 */
const libImports = (names, message) => ({ regex: `^(\\.\\./)+(${names.join("|")})(/|\\.js$)`, message });

const notTooling = {
  regex: "^(\\.\\./)+(dev|bench|drills|test)/",
  message: "src never imports dev, bench, drills or test: they are not deployed.",
};
const tablesAndQueues = {
  group: ["@azure/data-tables", "@azure/storage-queue"],
  message: "Only src/lib/store talks to Tables and Queues.",
};
const armSdks = {
  group: ["@azure/arm-*", "@azure-rest/core-client", "@azure/core-lro"],
  message: "Only src/lib/azure calls ARM.",
};
const openTelemetry = {
  group: ["@opentelemetry/*", "@azure/monitor-opentelemetry"],
  message:
    "Only src/lib/telemetry uses OpenTelemetry; elsewhere call the port (telemetry() in src/lib/telemetry/index.ts).",
};
const restoreBlobs = {
  group: ["@azure/storage-blob"],
  message: "Only src/lib/azure reads restore targets' blobs (azure/storage.ts).",
};

const baseOnly = libImports(
  ["azure", "store", "http", "auth", ...capabilities, "app", ...entryPoints],
  "config, domain, util, errors.ts and logger.ts are the base: they import only each other.",
);
const azureOnly = libImports(
  ["store", "http", "auth", ...capabilities, "app", ...entryPoints],
  "src/lib/azure imports only the base (config, domain, util, errors.ts, logger.ts) and itself.",
);
const storeOnly = libImports(
  ["azure", "http", "auth", ...capabilities, "app", ...entryPoints],
  "src/lib/store imports only the base (config, domain, util, errors.ts, logger.ts) and itself.",
);
const httpOnly = libImports(
  ["azure", "store", ...capabilities, "app", ...entryPoints],
  "src/lib/http imports only the base and src/lib/auth.",
);
const authOnly = libImports(
  ["http", "azure", "store", ...capabilities, "app", ...entryPoints],
  "src/lib/auth imports only the base (http renders its AuthError, never the other way round).",
);
const archiveOnly = libImports(
  [
    "config",
    "domain",
    "util",
    "errors",
    "logger",
    "azure",
    "store",
    "http",
    "auth",
    ...capabilities,
    "app",
    ...entryPoints,
  ],
  "src/lib/archive is pure: it imports only node built-ins (stream, zlib) and itself.",
);
const archivePackages = {
  regex: "^(?!node:(stream|zlib|buffer)|\\.)",
  message:
    "src/lib/archive is pure: only node:stream, node:zlib and node:buffer (no @azure or other packages).",
};
const capabilityOnly = libImports(
  ["app", ...entryPoints],
  "Capabilities never import the composition root (src/lib/app.ts) or the trigger adapters.",
);

/** One `no-restricted-imports` per folder: a later match replaces the rule, so each lists all its patterns. */
const boundary = (files, ...patterns) => ({
  files,
  rules: { "no-restricted-imports": ["error", { patterns: patterns.filter(Boolean) }] },
});

const srcRules = [notTooling, tablesAndQueues, armSdks, restoreBlobs, openTelemetry];

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "coverage/", "bench/results/", "**/*.min.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        fetch: "readonly",
        structuredClone: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
    },
  },
  {
    files: ["src/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "error" },
  },
  boundary(["src/**/*.ts"], ...srcRules),
  boundary(
    ["src/lib/{config,domain,util}/**/*.ts"],
    notTooling,
    tablesAndQueues,
    armSdks,
    restoreBlobs,
    openTelemetry,
    baseOnly,
  ),
  // The telemetry port is base too (everyone may count and trace); only it loads OpenTelemetry.
  boundary(["src/lib/telemetry/**/*.ts"], notTooling, tablesAndQueues, armSdks, restoreBlobs, baseOnly),
  boundary(
    ["src/lib/errors.ts", "src/lib/logger.ts"],
    notTooling,
    tablesAndQueues,
    armSdks,
    restoreBlobs,
    openTelemetry,
    {
      regex: "^\\./(?!(config|domain|util)/|errors\\.js$|logger\\.js$)",
      message: baseOnly.message,
    },
  ),
  boundary(["src/lib/azure/**/*.ts"], notTooling, tablesAndQueues, openTelemetry, azureOnly),
  boundary(["src/lib/store/**/*.ts"], notTooling, armSdks, restoreBlobs, openTelemetry, storeOnly),
  boundary(["src/lib/http/**/*.ts"], ...srcRules, httpOnly),
  boundary(["src/lib/auth/**/*.ts"], ...srcRules, authOnly),
  boundary([`src/lib/{${capabilities.join(",")}}/**/*.ts`], ...srcRules, capabilityOnly),
  boundary(["src/lib/archive/**/*.ts"], notTooling, archivePackages, archiveOnly),
);
