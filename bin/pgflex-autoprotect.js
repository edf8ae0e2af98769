#!/usr/bin/env node
// `npx pgflex-autoprotect`: runs the TypeScript sources through tsx (installed by `npm ci`, no build step),
// or the build (`npm run build` → dist/) where tsx is absent, e.g. a production install.
import { existsSync } from "node:fs";

// Defaults for a terminal, applied only where the environment says nothing: ARM tokens from
// DefaultAzureCredential (az login, environment, ...) rather than a managed identity, and a placeholder for
// the Storage setting the app's schema requires but the CLI never uses (it reads and writes no tables).
process.env.PGFLEX_ARM_CREDENTIAL ||= "default";
if (!process.env.AzureWebJobsStorage && !process.env.AzureWebJobsStorage__accountName)
  process.env.AzureWebJobsStorage = "UseDevelopmentStorage=true";

const source = new URL("../src/cli/main.ts", import.meta.url);
const built = new URL("../dist/src/cli/main.js", import.meta.url);

let register;
try {
  ({ register } = await import("tsx/esm/api"));
} catch {
  register = undefined;
}
if (register && existsSync(source)) {
  register();
  await import(source.href);
} else if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write("pgflex-autoprotect: run `npm ci` (for tsx) or `npm run build` first.\n");
  process.exitCode = 1;
}
