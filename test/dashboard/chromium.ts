import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";

/** Debian's chromium: the dashboard's browser tests skip when it is absent (.ci/run installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Debian's chromium, headless, with a fresh profile (Playwright passes it as --user-data-dir): no browser
 * download, no background traffic. `close()` closes it and removes the profile.
 */
export async function launchChromium(): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const profile = await mkdtemp(join(tmpdir(), "pgflex-chromium-"));
  try {
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    return {
      browser,
      async close() {
        await browser.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
}

/** An unsigned token with `roles`: the page only decodes it to choose its buttons (the stub API ignores it). */
export const tokenWithRoles = (roles: string[]) =>
  ["{}", JSON.stringify({ roles, name: "t" }), "sig"]
    .map((p) => Buffer.from(p).toString("base64url"))
    .join(".");
