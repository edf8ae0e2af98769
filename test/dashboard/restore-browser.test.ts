import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderDashboard } from "../../src/dashboard/page.js";
import { CHROMIUM, launchChromium, tokenWithRoles } from "./chromium.js";

/**
 * The dashboard's recovery points and Restore action in headless Chromium, against a stub of the app's API
 * (the emulator has no restores yet): what a Backup.Restore user and a reader see and can do.
 */
const SUB = "11111111-1111-1111-1111-111111111111";
const SERVER_ID = `/subscriptions/${SUB}/resourcegroups/rg-db/providers/microsoft.dbforpostgresql/flexibleservers/orders-db`;
const CONTAINER = `/subscriptions/${SUB}/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/strestore/blobServices/default/containers/restores`;

const token = tokenWithRoles;

let server: Server;
let base = "";
const posts: unknown[] = [];
let restoreReads = 0;

const restore = (status: string) => ({
  restoreId: "8235978412345-1a2b3c4d",
  serverName: "orders-db",
  status,
  recoveryPointId: "rp1",
  recoveryPointTime: "2026-11-15T02:00:00Z",
  jobId: "00000000-0000-0000-0000-000000000001",
  ...(status === "Completed"
    ? {
        files: [{ name: "g_database_orders.sql", sizeInBytes: 2048, kind: "database", database: "orders" }],
        commands: [
          "export PGHOST=<new-server>.postgres.database.azure.com",
          "… | pg_restore --no-owner --dbname 'orders'",
        ],
      }
    : {}),
});

function answer(method: string, path: string): [number, unknown] {
  if (path === "/api/servers")
    return [
      200,
      {
        value: [
          {
            id: SERVER_ID,
            subscriptionId: SUB,
            resourceGroup: "rg-db",
            name: "orders-db",
            state: "Protected",
            instanceName: "orders-db-inst",
            vaultId: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv",
          },
        ],
      },
    ];
  if (path === "/api/jobs") return [200, { value: [] }];
  if (path.startsWith("/api/sweeps")) return [404, { error: { code: "SweepNotFound", message: "none" } }];
  if (path === `/api/servers/${SUB}/rg-db/orders-db/recoveryPoints`)
    return [
      200,
      { value: [{ recoveryPointId: "rp1", time: "2026-11-15T02:00:00Z", retentionTag: "Weekly" }] },
    ];
  if (method === "POST" && path === `/api/servers/${SUB}/rg-db/orders-db/restores`)
    return [202, restore("InProgress")];
  if (path === "/api/restores") {
    if (posts.length === 0) return [200, { value: [] }];
    return [200, { value: [restore(++restoreReads > 1 ? "Completed" : "InProgress")] }];
  }
  return [404, { error: { code: "NotFound", message: path } }];
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        if (url.pathname === "/api/dashboard") {
          const page = await renderDashboard("n0nce");
          res.writeHead(200, page.headers).end(page.body);
          return;
        }
        if (req.method === "POST") posts.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        const [status, body] = answer(req.method ?? "GET", url.pathname);
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe.skipIf(!existsSync(CHROMIUM))("dashboard: recovery points and restores", () => {
  it("shows a server's recovery points; a Backup.Restore user restores one and sees the files and commands; a reader cannot", async () => {
    const { browser, close } = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/api/dashboard?code=k#token=${token(["Backup.Restore"])}`);
      await page.waitForSelector(`#restore-server option[value="${SERVER_ID}"]`, { state: "attached" });
      await page.selectOption("#restore-server", SERVER_ID);
      await page.waitForSelector('[data-point="rp1"]');
      expect(await page.textContent('[data-point="rp1"]')).toContain("Weekly");
      await page.fill("#restore-target", CONTAINER);
      await page.click('[data-restore-point="rp1"]');
      await page.waitForSelector("#restores pre", { timeout: 20_000 });
      expect(posts).toEqual([{ recoveryPointId: "rp1", targetContainerId: CONTAINER }]);
      expect(await page.textContent("#restores")).toContain("g_database_orders.sql (2048 bytes)");
      expect(await page.textContent("#restores pre")).toContain("pg_restore --no-owner");

      const reader = await browser.newPage();
      await reader.goto(`${base}/api/dashboard?code=k#token=${token(["Backup.Reader"])}`);
      await reader.waitForSelector(`#restore-server option[value="${SERVER_ID}"]`, { state: "attached" });
      await reader.selectOption("#restore-server", SERVER_ID);
      await reader.waitForSelector('[data-point="rp1"]');
      expect(await reader.$('[data-restore-point="rp1"]')).toBeNull();
      expect(await reader.isHidden("#restore-target-label")).toBe(true);
    } finally {
      await close();
    }
  }, 60_000);
});
