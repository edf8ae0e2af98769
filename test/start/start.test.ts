import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevAuth, type DevAuth } from "../../dev/start/devAuth.js";
import { describeEstate, loadEstate, vaultMapSetting } from "../../dev/start/estate.js";
import { demoJobHistory } from "../../dev/start/history.js";
import { PortInUseError, assertPortFree } from "../../dev/start/ports.js";
import { summarize, type ServerView } from "../../dev/start/story.js";
import { spawnStart } from "./spawnStart.js";

describe("npm start with its port taken", () => {
  let blocker: Server;
  let port = 0;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    port = (blocker.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it("says which port is taken and exits with code 2 before starting anything", async () => {
    const start = spawnStart(["--port", String(port)]);
    expect(await start.exited).toBe(2);
    expect(start.output()).toContain(
      `Port ${port} (local Functions host) is already in use, probably by another npm start. ` +
        `Stop it, or choose another port: npm start -- --port <port>.`,
    );
    expect(start.output()).not.toContain("Local host at");
  }, 60_000);

  it("names the emulator option when the emulator port is taken", async () => {
    await expect(assertPortFree(port, "ARM emulator", "--emulator-port")).rejects.toThrow(
      new PortInUseError(port, "ARM emulator", "--emulator-port"),
    );
  });

  it("accepts port 0 (any free port) without probing", async () => {
    await expect(assertPortFree(0, "local Functions host", "--port")).resolves.toBeUndefined();
  });
});

describe("development tokens", () => {
  let auth: DevAuth;
  beforeAll(async () => {
    auth = await startDevAuth();
  });
  afterAll(() => auth.stop());

  it("signs tokens the served JWKS verifies, with the role, audience and issuer the app expects", async () => {
    const jwks = (await (await fetch(auth.jwksUri)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty("d"); // public half only
    const { payload } = await jwtVerify(
      await auth.mint("Backup.Operator"),
      createLocalJWKSet(jwks as never),
      {
        issuer: "https://login.microsoftonline.com/33333333-3333-3333-3333-333333333333/v2.0",
        audience: "api://pgflex-autoprotect",
      },
    );
    expect(payload).toMatchObject({ roles: ["Backup.Operator"], preferred_username: "local-operator" });
    expect(auth.settings).toEqual({
      PGFLEX_AUTH_TENANT_ID: "33333333-3333-3333-3333-333333333333",
      PGFLEX_AUTH_AUDIENCE: "api://pgflex-autoprotect",
      PGFLEX_AUTH_ISSUER: "https://login.microsoftonline.com/33333333-3333-3333-3333-333333333333/v2.0",
      PGFLEX_AUTH_JWKS_URI: auth.jwksUri,
    });
  });

  it("serves nothing but the key set", async () => {
    expect((await fetch(new URL("/token", auth.jwksUri))).status).toBe(404);
  });
});

describe("demo estate", () => {
  it("has two subscriptions, three regions, vaults in two and seventeen servers covering every case", async () => {
    const estate = await loadEstate();
    expect(estate.subscriptionIds).toEqual([
      "11111111-1111-4111-8111-111111111111",
      "22222222-2222-4222-8222-222222222222",
    ]);
    expect(estate.regions).toEqual(["eastus", "northeurope", "westeurope"]);
    expect(Object.keys(estate.vaultMap).sort()).toEqual(["eastus", "westeurope"]);
    expect(estate.serverCount).toBe(17);
    const tags = (estate.seed.servers ?? []).map((s) => s.tags?.["backup"] ?? s.tags?.["Backup"] ?? "(none)");
    expect(new Set(tags)).toEqual(new Set(["weekly", "gold", "none", "off", "platinum", "(none)"]));
    expect((estate.seed.servers ?? []).filter((s) => s.state === "Provisioning").map((s) => s.name)).toEqual([
      "search-db",
    ]);
  });

  it("maps marked vaults by region and leaves an unmarked vault out", () => {
    const estate = describeEstate({
      providers: {
        dataprotection: {
          vaults: {
            a: { id: "/v/a", location: "EastUS", tags: { "PGFLEX-AUTOPROTECT": "true" } },
            b: { id: "/v/b", location: "westeurope", tags: {} },
          },
        },
      },
    });
    expect(estate.vaultMap).toEqual({ eastus: "/v/a" });
    expect(vaultMapSetting({ eastus: "/v/a", westeurope: "/v/c" })).toBe("eastus=/v/a,westeurope=/v/c");
  });

  it("gives past weeks of history, one backup a week: four for gold, two for weekly, one failure on catalog-db", async () => {
    const estate = await loadEstate();
    const now = new Date("2026-11-25T12:00:00.000Z");
    const jobs = demoJobHistory(estate, now);
    const byServer = new Map<string, number>();
    for (const j of jobs) byServer.set(j.datasourceName, (byServer.get(j.datasourceName) ?? 0) + 1);
    expect(Object.fromEntries(byServer)).toEqual({
      "orders-db": 2,
      "billing-db": 4,
      "payments-db": 4,
      "catalog-db": 4,
      "customers-db": 2,
      "dev-api-db": 2,
    });
    expect(jobs.filter((j) => j.status === "Failed").map((j) => j.datasourceName)).toEqual(["catalog-db"]);
    // One a week per server, none in the current week (Sunday 00:00 UTC on): the week's backup is still to come.
    const weekStart = Date.parse("2026-11-22T00:00:00.000Z");
    expect(jobs.every((j) => j.startMs < weekStart && j.startMs > now.getTime() - 5 * 7 * 86_400_000)).toBe(
      true,
    );
    for (const server of byServer.keys()) {
      const starts = jobs.filter((j) => j.datasourceName === server).map((j) => j.startMs);
      const weeks = new Set(starts.map((ms) => Math.floor((ms - weekStart) / (7 * 86_400_000))));
      expect(weeks.size).toBe(starts.length);
    }
  });
});

describe("story summary", () => {
  it("counts servers by state, most frequent first", () => {
    const s = (state: string) => ({ state }) as ServerView;
    expect(summarize([s("Protected"), s("OptedOut"), s("Protected"), s("Failed")])).toBe(
      "2 Protected, 1 OptedOut, 1 Failed",
    );
  });
});
