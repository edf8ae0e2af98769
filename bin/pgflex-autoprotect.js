#!/usr/bin/env node
// `npx pgflex-autoprotect`: runs the TypeScript sources through tsx (installed by `npm ci`, no build step),
// or the build (`npm run build` → dist/) where tsx is absent, e.g. a production install.
import { existsSync } from "node:fs";

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
