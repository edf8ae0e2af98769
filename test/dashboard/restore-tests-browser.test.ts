import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { renderDashboard } from "../../src/dashboard/page.js";
import { CHROMIUM, launchChromium, tokenWithRoles } from "./chromium.js";

/**
 * The dashboard's restore tests in headless Chromium, against a stub of the app's API shaped as the API
 * answers (`{ value, continuationToken, nextLink }` pages, records newest first): per server the last
 * test and its last pass, the time-to-restore chart, and the latest sweep's RestoreUntested signal.
 */
const SUB = "11111111-1111-1111-1111-111111111111";
const serverId = (name: string) =>
  `/subscriptions/${SUB}/resourcegroups/rg-db/providers/microsoft.dbforpostgresql/flexibleservers/${name}`;
const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();

const token = tokenWithRoles;

function summaries() {
  return [
    {
      serverId: serverId("orders-db"),
      serverName: "orders-db",
      last: {
        testId: "t-orders-2",
        outcome: "Suspicious",
        startedAt: daysAgo(1),
        endedAt: daysAgo(1),
        timeToRestoreInSeconds: 2400,
        reason: "Table public.orders dropped from 1200 to 0 rows.",
      },
      lastPassedAt: daysAgo(8),
    },
    {
      serverId: serverId("billing-db"),
      serverName: "billing-db",
      last: { testId: "t-billing-1", outcome: "Passed", startedAt: daysAgo(2), timeToRestoreInSeconds: 600 },
      lastPassedAt: daysAgo(2),
    },
    {
      serverId: serverId("crm-db"),
      serverName: "crm-db",
      last: {
        testId: "t-crm-1",
        outcome: "Failed",
        startedAt: daysAgo(3),
        reason: "The restore job failed: UserErrorTargetContainerMissing.",
      },
    },
  ];
}

/** Newest first, as GET /api/restoreTests lists them; one record older than the chart's 90 days. */
function records() {
  const r = (testId: string, serverName: string, days: number, minutes?: number) => ({
    testId,
    serverId: serverId(serverName),
    serverName,
    outcome: "Passed",
    requestedBy: "schedule",
    startedAt: daysAgo(days),
    endedAt: daysAgo(days),
    updatedAt: daysAgo(days),
    ...(minutes === undefined ? {} : { timeToRestoreInSeconds: minutes * 60 }),
  });
  return [
    r("t-orders-2", "orders-db", 1, 40),
    r("t-billing-1", "billing-db", 2, 10),
    r("t-crm-1", "crm-db", 3),
    r("t-orders-1", "orders-db", 8, 35),
    r("t-orders-0", "orders-db", 100, 30),
  ];
}

let sweep: Record<string, unknown> | undefined;
let tested = true;
const requested: string[] = [];

function answer(url: URL): [number, unknown] {
  const path = url.pathname;
  if (path === "/api/servers" || path === "/api/jobs") return [200, { value: [] }];
  if (path === "/api/restores") return [200, { value: [] }];
  if (path === "/api/sweeps/latest")
    return sweep ? [200, sweep] : [404, { error: { code: "NotFound", message: "No sweep has run yet." } }];
  if (path === "/api/restoreTestSummaries") {
    // Two pages: the page follows the nextLink.
    const all = tested ? summaries() : [];
    if (all.length && !url.searchParams.get("continuationToken")) {
      const next = new URL(url);
      next.searchParams.set("continuationToken", "p2");
      return [200, { value: all.slice(0, 2), continuationToken: "p2", nextLink: next.toString() }];
    }
    return [200, { value: all.slice(2) }];
  }
  if (path === "/api/restoreTests") {
    const all = records();
    const token = url.searchParams.get("continuationToken");
    const start = token ? Number(token) : 0;
    const value = all.slice(start, start + 2);
    if (start + 2 >= all.length) return [200, { value }];
    const next = new URL(url);
    next.searchParams.set("continuationToken", String(start + 2));
    return [200, { value, continuationToken: String(start + 2), nextLink: next.toString() }];
  }
  return [404, { error: { code: "NotFound", message: path } }];
}

let server: Server;
let base = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", base || "http://127.0.0.1");
    void (async () => {
      if (url.pathname === "/api/dashboard") {
        const page = await renderDashboard("n0nce");
        res.writeHead(200, page.headers).end(page.body);
        return;
      }
      requested.push(url.pathname + url.search);
      const [status, body] = answer(url);
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));
beforeEach(() => {
  requested.length = 0;
});

async function withPage(check: (page: Page) => Promise<void>) {
  const { browser, close } = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/api/dashboard?code=k#token=${token(["Backup.Reader"])}`);
    await page.waitForSelector('body[data-loaded="true"]');
    await check(page);
  } finally {
    await close();
  }
}

const sweepWith = (restoreTests: Record<string, unknown>) => ({
  id: "20261125T120000000Z-abcd1234",
  status: "Complete",
  startedAt: daysAgo(0.1),
  finishedAt: daysAgo(0.1),
  total: 3,
  counts: { Protected: 3 },
  compliancePercent: 100,
  restoreTests,
});

describe.skipIf(!existsSync(CHROMIUM))("dashboard: restore tests", () => {
  it("shows per server the last test, its outcome, time to restore and reason, the last pass, a time-to-restore chart and the sweep's RestoreUntested count", async () => {
    sweep = sweepWith({ enabled: true, maxAgeDays: 35, untested: 1 });
    await withPage(async (page) => {
      const row = (name: string) => page.textContent(`#restore-tests-body tr[data-server="${name}"]`);
      expect(
        await page.$$eval("#restore-tests-body tr", (rows) => rows.map((r) => r.dataset.server)),
      ).toEqual(["billing-db", "crm-db", "orders-db"]);
      const orders = await row("orders-db");
      expect(orders).toContain("Suspicious");
      expect(orders).toContain("Table public.orders dropped from 1200 to 0 rows.");
      expect(orders).toContain("40 min");
      expect(orders).toContain("24 h ago");
      expect(orders).toContain("8 d ago");
      const billing = await row("billing-db");
      expect(billing).toContain("Passed");
      expect(billing).toContain("10 min");
      const crm = await row("crm-db");
      expect(crm).toContain("UserErrorTargetContainerMissing");
      expect(crm).toContain("never");
      expect(await page.getAttribute('#restore-tests-body tr[data-server="crm-db"]', "class")).toBe("failed");
      expect(await page.getAttribute('#restore-tests-body tr[data-server="orders-db"]', "class")).toBe(
        "stale",
      );

      const chart = await page.evaluate(() => {
        const c = (globalThis as unknown as { Chart: { getChart(id: string): unknown } }).Chart.getChart(
          "ttr",
        ) as {
          data: { datasets: Array<{ label: string; data: Array<{ y: number }> }> };
        };
        return c.data.datasets.map((d) => [d.label, d.data.map((p) => p.y)]);
      });
      // Oldest to newest per server; a test without a time to restore and one older than 90 days are left out.
      expect(chart).toEqual([
        ["billing-db", [10]],
        ["orders-db", [35, 40]],
      ]);
      expect(requested).toContain("/api/restoreTests?top=200");
      expect(requested.filter((p) => p.startsWith("/api/restoreTests?"))).toHaveLength(3);
      expect(await page.textContent("#restore-tests-signal")).toContain(
        "RestoreUntested: 1 protected server has not passed a restore test in 35 days",
      );
    });
  }, 60_000);

  it("says once that restore tests are off when the latest sweep says so, and reads no history when no server was tested", async () => {
    tested = false;
    sweep = sweepWith({
      enabled: false,
      maxAgeDays: 35,
      untested: 0,
      note: "Restore tests are off (PGFLEX_RESTORE_TESTS is empty), so no server was checked for RestoreUntested.",
    });
    await withPage(async (page) => {
      const text = await page.textContent("#restore-tests-panel");
      expect(text?.split("Restore tests are off")).toHaveLength(2);
      expect(await page.isVisible("#restore-tests-signal")).toBe(true);
      expect(await page.textContent("#restore-tests-body")).toContain("No restore test yet.");
      expect(requested.filter((p) => /^\/api\/restoreTests(\?|$)/.test(p))).toEqual([]);
    });
  }, 60_000);
});
