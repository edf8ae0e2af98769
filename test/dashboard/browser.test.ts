import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, spawnStart, type StartedProcess } from "../start/spawnStart.js";
import { renderDashboard } from "../../src/dashboard/page.js";

/**
 * The product as a user meets it: `npm start` in a child process tells the story and prints the dashboard
 * URL; the dashboard, loaded in headless Chromium, shows what the API says and runs "Back up now";
 * Ctrl-C stops everything. The browser part needs Debian's chromium (.ci/run installs it).
 */
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);

if (!hasChromium)
  console.warn(`Browser tests skipped: ${CHROMIUM} is absent (apt-get install chromium; .ci/run does).`);

/**
 * Debian's chromium, headless, with a fresh profile (Playwright passes it as --user-data-dir): no browser
 * download, no background traffic.
 */
async function launch() {
  const { chromium } = await import("playwright-core");
  const profile = await mkdtemp(join(tmpdir(), "pgflex-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1600 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return { browser, profile };
}

let start: StartedProcess;
let operatorUrl = "";
let readerUrl = "";

function apiCall(dashboardUrl: string) {
  const url = new URL(dashboardUrl);
  const code = url.searchParams.get("code") ?? "";
  const token = new URLSearchParams(url.hash.slice(1)).get("token") ?? "";
  return async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(new URL(`/api/${path}`, url.origin), {
      method: init.method ?? "GET",
      headers: {
        "x-functions-key": code,
        authorization: `Bearer ${token}`,
        ...(init.body ? { "content-type": "application/json" } : {}),
      },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}

describe("npm start", () => {
  beforeAll(async () => {
    start = spawnStart(["--port", "0", "--emulator-port", "0"]);
    await start.waitFor(/^dashboard at http:\/\/127\.0\.0\.1:\d+\/api\/dashboard/m, 150_000);
    operatorUrl = (/^Dashboard \(operator\): (\S+)$/m.exec(start.output()) ?? [])[1] ?? "";
    readerUrl = (/^Dashboard \(reader\): +(\S+)$/m.exec(start.output()) ?? [])[1] ?? "";
  }, 160_000);

  afterAll(async () => {
    if (start && start.child.exitCode === null) {
      start.child.kill("SIGKILL");
      await start.exited;
    }
  });

  it("tells the whole story and prints the dashboard URL", () => {
    const out = start.output();
    expect(out).toMatch(/^✔ Sweep \S+: 17 servers, [\d.]+% compliant, \d+ protections started$/m);
    expect(out).toMatch(
      /^✔ Servers: .*Protected.*MissingPermissions.*$|^✔ Servers: .*MissingPermissions.*Protected.*$/m,
    );
    expect(out).toContain("✔ shipping-db is Protected with policy pgflex-weekly in bv-pgflex-eastus");
    expect(out).toContain("✔ Backup of orders-db: Completed");
    // Azure's one vaulted backup a week: the second backup of orders-db is refused with its time and `force`.
    expect(out).toMatch(
      /^! Second backup of orders-db refused: orders-db already had this week's vaulted backup at \d{4}-\d\d-\d\dT[\d:.]+Z \(job [0-9a-f-]{36}, Completed\): Azure Backup takes one vaulted backup a week of a PostgreSQL flexible server; later ones in the same week fail \(weeks counted from Sunday 00:00 UTC\)\. The next backup is possible from (\S+)\.\n {2}Fix: Wait until \1, or send \{"force": true\} to start it anyway; Azure is expected to fail it\.$/m,
    );
    expect(out).toContain(
      '  Fix: az role assignment create --assignee-object-id 0e1d5c3a-7b2f-4c61-9a8e-3f4b5c6d7e02 --assignee-principal-type ServicePrincipal --role "PostgreSQL Flexible Server Long Term Retention Backup Role"',
    );
    expect(out).toContain(
      "! orders-replica is Unsupported: orders-replica is a read replica (replicationRole AsyncReplica); Azure Backup protects primary servers only.",
    );
    expect(out).toMatch(/^Story complete in \d+ s\.$/m);
    expect(operatorUrl).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/api\/dashboard\?code=[^#]+#token=[\w-]+\.[\w-]+\.[\w-]+$/,
    );
    expect(readerUrl).toMatch(/#token=/);
  });

  it("lets a reader read but not start a backup", async () => {
    const reader = apiCall(readerUrl);
    const servers = await reader("servers");
    expect(servers.status).toBe(200);
    const one = (
      servers.body.value as Array<{ subscriptionId: string; resourceGroup: string; name: string }>
    ).find((s) => s.name === "orders-db");
    const res = await reader(`servers/${one?.subscriptionId}/${one?.resourceGroup}/orders-db/backups`, {
      method: "POST",
      body: {},
    });
    expect(res.status).toBe(403);
  });

  it.skipIf(!hasChromium)(
    "shows the API's numbers in a real browser and runs Back up now to Completed",
    async () => {
      const { browser, profile } = await launch();
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        page.on("console", (m) => {
          if (m.type() === "error") errors.push(m.text());
        });
        await page.goto(operatorUrl);
        await page.waitForSelector("body[data-loaded=true]", { timeout: 30_000 });
        expect(page.url()).not.toContain("token="); // the fragment is dropped from history at once

        const api = apiCall(operatorUrl);
        const latest = await api("sweeps/latest");
        expect(await page.textContent("#compliance-percent")).toBe(
          `${latest.body.compliancePercent as number}%`,
        );
        const servers: Array<{ name: string; state: string }> = [];
        for (let path = "servers"; ;) {
          const page = (await api(path)).body as { value: typeof servers; continuationToken?: string };
          servers.push(...page.value);
          if (!page.continuationToken) break;
          path = `servers?continuationToken=${encodeURIComponent(page.continuationToken)}`;
        }
        const rows = await page.$$eval("#servers-body tr", (trs) =>
          trs.map((tr) => ({ name: tr.getAttribute("data-server"), state: tr.getAttribute("data-state") })),
        );
        expect(rows).toEqual(
          servers.map((s) => ({ name: s.name, state: s.state })).sort((a, b) => a.name.localeCompare(b.name)),
        );
        expect(await page.textContent("#kpi-protected")).toBe(
          String(servers.filter((s) => s.state === "Protected").length),
        );
        expect(await page.getAttribute('#servers-body tr[data-server="analytics-db"]', "class")).toBe(
          "problem",
        );
        expect(await page.textContent('#servers-body tr[data-server="analytics-db"] .fix code')).toContain(
          "az role assignment create --assignee-object-id 0e1d5c3a-7b2f-4c61-9a8e-3f4b5c6d7e02",
        );
        expect(await page.getAttribute('#servers-body tr[data-server="catalog-db"]', "class")).toBe("failed");
        // Azure Backup cannot protect a read replica: shown with its reason, not as a problem.
        expect(await page.getAttribute('#servers-body tr[data-server="orders-replica"]', "class")).toBe("");
        expect(await page.textContent('#servers-body tr[data-server="orders-replica"] .state')).toBe(
          "Unsupported",
        );

        await page.click('button[data-backup="customers-db"]');
        await page.waitForSelector("#activity li[data-job] .status.Completed", { timeout: 60_000 });
        expect(await page.textContent("#activity li[data-job]")).toMatch(
          /^Backup of customers-db \(job [0-9a-f]{8}\): Completed$/,
        );
        // One vaulted backup a week: a second click asks first, naming this week's backup; accepted, Azure fails it.
        const asked = new Promise<string>((resolve) =>
          page.once("dialog", (dialog) => {
            resolve(dialog.message());
            void dialog.accept();
          }),
        );
        await page.click('button[data-backup="customers-db"]');
        expect(await asked).toMatch(
          /^customers-db already had this week's vaulted backup at \d{4}-\d\d-\d\dT[\d:.]+Z\. Azure Backup takes one vaulted backup a week: it is expected to fail this one\. The next backup is possible from \d{4}-\d\d-\d\dT00:00:00\.000Z\.\n\nBack up anyway\?$/,
        );
        await page.waitForSelector("#activity li[data-job] .status.Failed", { timeout: 60_000 });
        await mkdir(join(REPO_ROOT, "test-results"), { recursive: true });
        await page.screenshot({ path: join(REPO_ROOT, "test-results", "dashboard.png"), fullPage: true });
        // The browser logs the weekly-limit refusal (the 409 the confirm above came from) as a failed resource.
        expect(errors).toEqual([
          "Failed to load resource: the server responded with a status of 409 (Conflict)",
        ]);
      } finally {
        await browser.close();
        await rm(profile, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it.skipIf(!hasChromium)(
    "reads every page of servers and jobs when the API pages them two at a time",
    async () => {
      const { browser, profile } = await launch();
      try {
        const page = await browser.newPage();
        const lists = /\/api\/(servers|jobs)(\?.*)?$/;
        // First pages ask for 2 items; following the nextLink keeps that page size to the end.
        await page.route(lists, (route) => {
          const url = new URL(route.request().url());
          if (!url.searchParams.has("continuationToken")) url.searchParams.set("top", "2");
          return route.continue({ url: url.toString() });
        });
        const pages: Array<Promise<{ kind: string; asked: string | null; next?: string }>> = [];
        page.on("response", (res) => {
          const m = lists.exec(new URL(res.url()).pathname + new URL(res.url()).search);
          if (!m) return;
          pages.push(
            res.json().then((body: { continuationToken?: string }) => ({
              kind: m[1] ?? "",
              asked: new URL(res.url()).searchParams.get("continuationToken"),
              ...(body.continuationToken ? { next: body.continuationToken } : {}),
            })),
          );
        });
        await page.goto(readerUrl);
        await page.waitForSelector("body[data-loaded=true]", { timeout: 30_000 });
        const seen = await Promise.all(pages);

        const all = (await apiCall(readerUrl)("servers?top=1000")).body.value as Array<{ name: string }>;
        const rows = await page.$$eval("#servers-body tr", (trs) =>
          trs.map((tr) => tr.getAttribute("data-server")),
        );
        expect(rows).toEqual(all.map((s) => s.name).sort((a, b) => a.localeCompare(b)));
        for (const kind of ["servers", "jobs"]) {
          const mine = seen.filter((p) => p.kind === kind);
          // Each token handed out was asked for, and the last page handed out none.
          expect(
            mine
              .map((p) => p.asked)
              .filter(Boolean)
              .sort(),
          ).toEqual(
            mine
              .map((p) => p.next)
              .filter(Boolean)
              .sort(),
          );
          expect(mine.filter((p) => !p.next)).toHaveLength(1);
        }
        expect(seen.filter((p) => p.kind === "servers")).toHaveLength(Math.ceil(all.length / 2));
        expect(seen.filter((p) => p.kind === "jobs").length).toBeGreaterThan(1);
      } finally {
        await browser.close();
        await rm(profile, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it.skipIf(!hasChromium)(
    "shows no Back up now button to a reader",
    async () => {
      const { browser, profile } = await launch();
      try {
        const page = await browser.newPage();
        await page.goto(readerUrl);
        await page.waitForSelector("body[data-loaded=true]", { timeout: 30_000 });
        expect(await page.$$("button[data-backup]")).toEqual([]);
        expect(await page.textContent("#who")).toBe("local-reader (Backup.Reader)");
      } finally {
        await browser.close();
        await rm(profile, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it("stops everything cleanly on Ctrl-C", async () => {
    start.child.kill("SIGINT");
    expect(await start.exited).toBe(0);
    expect(start.output()).toMatch(/SIGINT: stopping the host, the emulator and Azurite…\nStopped\.\n$/);
  }, 30_000);
});

/** A JWT's shape with these claims (unsigned: the page only reads the claims; the API checks signatures). */
function aToken(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.signature`;
}

describe("the dashboard behind Microsoft sign-in (Easy Auth)", () => {
  it.skipIf(!hasChromium)(
    "shows a signed-in user without a role which role to ask for, not an empty table",
    async () => {
      const origin = "https://func-pgflex.azurewebsites.net";
      const token = aToken({
        aud: "api://pgflex-autoprotect-dev",
        preferred_username: "grace@contoso.example",
        oid: "5f0e8c1a-0000-4000-8000-00000000ad02",
      });
      const { browser, profile } = await launch();
      try {
        const page = await browser.newPage();
        const apiCalls: string[] = [];
        // The platform in front of the app: the page itself, and the signed-in user's token store at /.auth/me.
        await page.route(`${origin}/**`, async (route) => {
          const url = new URL(route.request().url());
          if (url.pathname === "/api/dashboard") {
            const { body, headers } = await renderDashboard("bm9uY2U=");
            return route.fulfill({ status: 200, headers, body });
          }
          if (url.pathname === "/.auth/me") {
            return route.fulfill({
              status: 200,
              contentType: "application/json",
              body: JSON.stringify([
                { provider_name: "aad", access_token: token, user_id: "grace@contoso.example" },
              ]),
            });
          }
          // The API refuses a token without a role (src/lib/auth/authorize.ts); the page should not even ask.
          apiCalls.push(url.pathname);
          return route.fulfill({
            status: 403,
            contentType: "application/json",
            body: JSON.stringify({
              error: {
                code: "MissingRole",
                message: "The caller does not have the app role Backup.Reader.",
                fix: "Assign the app role Backup.Reader to the caller in the API's enterprise application (Microsoft Entra ID).",
              },
            }),
          });
        });
        await page.goto(`${origin}/api/dashboard?code=function-key`);
        await page.waitForSelector("body[data-no-role=true]", { timeout: 30_000 });
        expect(await page.isVisible("#no-role")).toBe(true);
        expect(await page.textContent("#no-role-who")).toBe(
          "You are signed in as grace@contoso.example, but you have no role in pgflex-autoprotect yet, so there is nothing to show.",
        );
        expect(await page.textContent("#no-role")).toContain("Ask for Backup.Reader to see the servers");
        expect(await page.textContent("#no-role-app")).toBe(
          "the application for api://pgflex-autoprotect-dev",
        );
        expect(await page.textContent("#who")).toBe("grace@contoso.example (no role)");
        // No empty table, no sign-in box, no error: only the page that says what to do.
        expect(await page.isVisible("#servers")).toBe(false);
        expect(await page.isVisible("#signin")).toBe(false);
        expect(await page.isVisible("#error")).toBe(false);
        expect(apiCalls).toEqual([]);
      } finally {
        await browser.close();
        await rm(profile, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
