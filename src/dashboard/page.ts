import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TERMINAL_JOB_STATUSES } from "../lib/domain/jobStatuses.js";
import { InProgressStates, SatisfiedStates, UnsupportedStates } from "../lib/domain/protectionStates.js";

/**
 * The dashboard as one self-contained HTML response: page, styles, Chart.js and the page script inline,
 * so a function-key URL (`/api/dashboard?code=…`) needs no further authenticated asset requests. Scripts
 * and styles carry a per-response nonce that the Content-Security-Policy requires.
 */
export interface DashboardPage {
  body: string;
  headers: Record<string, string>;
}

interface Assets {
  template: string;
  style: string;
  script: string;
  chart: string;
}

let assets: Promise<Assets> | undefined;

// Sources live in src/dashboard; the build (dist/src/dashboard) keeps only the compiled module.
function assetDirectory(): string {
  const candidates = [new URL("./", import.meta.url), new URL("../../../src/dashboard/", import.meta.url)];
  const found = candidates.find((c) => existsSync(new URL("index.html", c)));
  if (!found)
    throw new Error("The dashboard assets (src/dashboard/index.html) are missing from this deployment.");
  return fileURLToPath(found);
}

async function loadAssets(): Promise<Assets> {
  const dir = assetDirectory();
  const require = createRequire(import.meta.url);
  const [template, style, script, chart] = await Promise.all([
    readFile(join(dir, "index.html"), "utf8"),
    readFile(join(dir, "style.css"), "utf8"),
    readFile(join(dir, "app.js"), "utf8"),
    // The package's exports map hides dist/chart.umd.js; it sits beside the CommonJS entry point.
    readFile(join(dirname(require.resolve("chart.js")), "chart.umd.js"), "utf8"),
  ]);
  return { template, style, script, chart };
}

/** `</script` inside inline code would end the element early. */
const inline = (code: string): string => code.replace(/<\/(script|style)/gi, "<\\/$1");

/** The state sets the page script colours rows and ends job tracking by, from the one definition the server uses. */
const statesJson = (): string =>
  // `<` escaped: JSON inside a script element must not be able to close it.
  JSON.stringify({
    inProgress: InProgressStates,
    satisfied: SatisfiedStates,
    unsupported: UnsupportedStates,
    terminalJobs: TERMINAL_JOB_STATUSES,
  }).replace(/</g, "\\u003c");

export async function renderDashboard(nonce: string): Promise<DashboardPage> {
  assets ??= loadAssets().catch((e: unknown) => {
    assets = undefined;
    throw e;
  });
  const { template, style, script, chart } = await assets;
  // Replacement functions: `$` sequences in the inlined code must stay literal.
  const body = template
    .replaceAll("{{NONCE}}", () => nonce)
    .replace("/* @inline style.css */", () => inline(style))
    .replace("/* @inline states */", statesJson)
    .replace("/* @inline chart.js */", () => inline(chart))
    .replace("/* @inline app.js */", () => inline(script));
  return {
    body,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "content-security-policy": [
        "default-src 'none'",
        `script-src 'nonce-${nonce}'`,
        `style-src 'nonce-${nonce}'`,
        "img-src data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join("; "),
    },
  };
}
