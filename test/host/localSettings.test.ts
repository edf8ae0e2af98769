import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RUNTIME_SETTINGS } from "../../dev/docs/sample-settings.js";
import { readLocalSettings, REPO_ROOT } from "../../dev/host/index.js";
import { loadConfig } from "../../src/lib/config/index.js";
import { allSettings } from "../../src/lib/config/settings.js";

describe("local.settings.sample.json", () => {
  const sampleDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), "settings-"));
    await copyFile(join(REPO_ROOT, "local.settings.sample.json"), join(dir, "local.settings.sample.json"));
    return dir;
  };

  it("lists every setting of settings.ts and nothing else (fix: npx tsx dev/docs/sample-settings.ts --write)", async () => {
    const dir = await sampleDir();
    try {
      const sample = await readLocalSettings(dir);
      const names = Object.keys(sample.values).filter((n) => !RUNTIME_SETTINGS.includes(n));
      expect(names.sort()).toEqual(allSettings.map((s) => s.name).sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("is read when local.settings.json is missing, and is a valid configuration as it stands", async () => {
    const dir = await sampleDir();
    try {
      const sample = await readLocalSettings(dir);
      expect(sample.fromSample).toBe(true);
      expect(() => loadConfig(sample.values)).not.toThrow();
      expect(sample.port).toBe(7071);
      expect(sample.keys).toEqual({ functionKey: "", masterKey: "", eventGridKey: "" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("prefers local.settings.json over the sample", async () => {
    const dir = await mkdtemp(join(tmpdir(), "settings-"));
    try {
      await writeFile(join(dir, "local.settings.sample.json"), JSON.stringify({ Values: { A: "sample" } }));
      await writeFile(
        join(dir, "local.settings.json"),
        JSON.stringify({ Values: { A: "own" }, Host: { LocalHttpPort: 7072, MasterKey: "m" } }),
      );
      const settings = await readLocalSettings(dir);
      expect([settings.fromSample, settings.values, settings.port, settings.keys.masterKey]).toEqual([
        false,
        { A: "own" },
        7072,
        "m",
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
