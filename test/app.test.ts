import { afterEach, describe, expect, it } from "vitest";
import { createApp, getApp, resetApp } from "../src/lib/app.js";
import { createArmClients } from "../src/lib/azure/clients.js";
import { loadConfig } from "../src/lib/config/index.js";
import { silentLogger } from "../src/lib/logger.js";

const env = { AzureWebJobsStorage: "UseDevelopmentStorage=true", PGFLEX_LOG_LEVEL: "error" };

afterEach(() => resetApp());

describe("the app's composition root", () => {
  it("builds every capability over the clients it is given", async () => {
    const config = loadConfig(env);
    const clients = createArmClients(config);

    const app = await createApp(config, { clients, logger: silentLogger });

    expect(app.azure.clients).toBe(clients);
    expect(Object.keys(app).sort()).toEqual(
      [
        "alerts",
        "azure",
        "backups",
        "compliance",
        "config",
        "events",
        "jobs",
        "protection",
        "restore",
        "restoreTests",
        "restoreTestSummaries",
      ].sort(),
    );
    expect(app.protection.settings).toBeDefined();
  });

  it("keeps one app per configuration object and builds a new one for a reloaded configuration", async () => {
    const config = loadConfig(env);

    const first = await getApp(config);

    expect(await getApp(config)).toBe(first);
    const reloaded = await getApp(loadConfig(env));
    expect(reloaded).not.toBe(first);
    expect(reloaded.azure.clients).not.toBe(first.azure.clients);
  });

  it("builds a fresh app after resetApp", async () => {
    const config = loadConfig(env);
    const first = await getApp(config);

    resetApp();

    expect(await getApp(config)).not.toBe(first);
  });
});
