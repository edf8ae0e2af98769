import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { renderDashboard } from "../../src/dashboard/page.js";
import { CHROMIUM, launchChromium } from "./chromium.js";

/**
 * The dashboard page on its own, in headless Chromium, against canned API answers: how it shows times that
 * other clocks (Azure's, a time-scaled emulator's) put after this browser's now. Needs Debian's chromium.
 */
const hasChromium = existsSync(CHROMIUM);
const ORIGIN = "http://127.0.0.1:9"; // never contacted: every request is answered by the route below

const HOUR = 3_600_000;
const sub = "11111111-1111-4111-8111-111111111111";
const serverId = (name: string) =>
  `/subscriptions/${sub}/resourceGroups/rg-data/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
const vaultId = `/subscriptions/${sub}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-eastus`;

function aServer(name: string, lastBackupEnd: string) {
  return {
    id: serverId(name),
    subscriptionId: sub,
    resourceGroup: "rg-data",
    name,
    state: "Protected",
    policyName: "pgflex-weekly",
    vaultId,
    lastBackup: { status: "Completed", endTime: lastBackupEnd },
  };
}

function aJob(name: string, jobId: string, times: { startTime: string; endTime?: string }) {
  return {
    jobId,
    serverId: serverId(name),
    serverName: name,
    status: times.endTime ? "Completed" : "InProgress",
    origin: "policy",
    durationInMs: 735_000,
    ...times,
  };
}

/** A reader's token: the page only decodes it to choose its buttons. */
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const token = `${b64url({ alg: "none" })}.${b64url({ oid: "reader", roles: ["Backup.Reader"] })}.sig`;

describe.skipIf(!hasChromium)("dashboard times", () => {
  let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    const now = Date.now();
    const ahead = new Date(now + HOUR).toISOString(); // a clock an hour ahead of this browser
    const before = new Date(now - 2 * HOUR).toISOString();
    const servers = [aServer("orders-db", ahead), aServer("customers-db", before)];
    const jobs = [
      aJob("orders-db", "00000000-0000-4000-8000-000000000001", {
        startTime: new Date(now + HOUR - 735_000).toISOString(),
        endTime: ahead,
      }),
      aJob("customers-db", "00000000-0000-4000-8000-000000000002", {
        startTime: new Date(now - 2 * HOUR - 735_000).toISOString(),
        endTime: before,
      }),
      aJob("billing-db", "00000000-0000-4000-8000-000000000003", { startTime: ahead }),
    ];
    const html = await renderDashboard("bm9uY2UtdGltZXM=");

    chrome = await launchChromium();
    const { browser } = chrome;
    await browser.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      const json = (status: number, body: unknown) =>
        route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
      if (path === "/api/dashboard")
        return route.fulfill({ status: 200, headers: html.headers, body: html.body });
      if (path === "/api/servers") return json(200, { value: servers });
      if (path === "/api/jobs") return json(200, { value: jobs });
      if (path === "/api/sweeps/latest")
        return json(404, { error: { code: "NotFound", message: "No sweep has run yet." } });
      return json(404, { error: { code: "NotFound", message: `No route ${path}.` } });
    });
    page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${ORIGIN}/api/dashboard?code=key#token=${token}`);
    await page.waitForSelector("body[data-loaded=true]", { timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await chrome?.close();
  });

  it("shows a last backup that ended after now as just now, not as a time in the future", async () => {
    expect(await page.textContent('#servers-body tr[data-server="orders-db"] td:nth-child(5)')).toBe(
      "just now",
    );
    // A time before now is shown as before: the time and its age.
    expect(await page.textContent('#servers-body tr[data-server="customers-db"] td:nth-child(5) .age')).toBe(
      "2 h ago",
    );
  });

  it("shows a running job that started after now as started just now", async () => {
    expect(await page.textContent("#running li")).toBe(
      "billing-db policy backup, started just now — InProgress",
    );
    expect(errors).toEqual([]);
  });
});
