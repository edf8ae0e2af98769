import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../dev/host/index.js";
import type { LocalSettingsFile } from "../../dev/host/localSettings.js";
import { declarations } from "../../src/functions/registry.js";
import { useAzurite } from "../support/azurite.js";
import { useLocalHost } from "../support/localHost.js";

// The sample's values are the app's local configuration (a fresh clone has no local.settings.json).
const sampleValues = await readFile(join(REPO_ROOT, "local.settings.sample.json"), "utf8").then(
  (t) => (JSON.parse(t) as LocalSettingsFile).Values ?? {},
);

describe("local host: the app's own functions", () => {
  const azurite = useAzurite();
  const host = useLocalHost(() => ({
    env: { ...sampleValues, AzureWebJobsStorage: azurite.connectionString },
  }));

  it("serves every declaration of src/functions/index.ts through the registry", async () => {
    expect(host.functions.map((f) => f.name)).toEqual(declarations().map((d) => d.name));
    expect(host.functions.map((f) => f.name)).toContain("health");
  });

  it("answers the health probe only with the function key", async () => {
    expect((await fetch(`${host.url}/api/health`)).status).toBe(401);
    const res = await fetch(`${host.url}/api/health`, { headers: { "x-functions-key": host.functionKey } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", service: "pgflex-autoprotect" });
  });
});
