import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/lib/config/index.js";

const base = { AzureWebJobsStorage: "UseDevelopmentStorage=true" };

describe("configuration", () => {
  it("applies defaults when only storage is set", () => {
    const config = loadConfig(base);
    expect(config.mode).toBe("enforce");
    expect(config.backupTag).toBe("backup");
    expect(config.scopes).toEqual([]);
    expect(config.armEndpoint).toBe("https://management.azure.com");
  });

  it("names the variable, the bad value and a good example", () => {
    expect(() => loadConfig({ ...base, PGFLEX_SCOPES: "not-a-guid" })).toThrow(
      'PGFLEX_SCOPES="not-a-guid": must be a comma-separated list of subscription GUIDs. Example: PGFLEX_SCOPES=11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222',
    );
  });

  it("reports every bad setting at once", () => {
    try {
      loadConfig({ ...base, PGFLEX_MODE: "fix-everything", PGFLEX_POLL_SCHEDULE: "* * * * *" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map((p) => p.variable)).toEqual([
        "PGFLEX_MODE",
        "PGFLEX_POLL_SCHEDULE",
      ]);
    }
  });

  it("refuses a scheduled backup more frequent than weekly, naming the entry, the limit and a weekly example", () => {
    const value = JSON.stringify([
      { name: "nightly-gold", tag: "tier", value: "gold", schedule: "0 0 1 * * *" },
    ]);
    expect(() => loadConfig({ ...base, PGFLEX_SCHEDULED_BACKUPS: value })).toThrow(
      `PGFLEX_SCHEDULED_BACKUPS=${JSON.stringify(value)}: entry "nightly-gold": schedule "0 0 1 * * *" runs more often than weekly (runs as close as 1 day(s) apart); Azure Backup takes one vaulted backup a week of a PostgreSQL flexible server; later ones in the same week fail. Use a weekly schedule such as "0 0 1 * * 6" (Saturdays 01:00 UTC). Example: PGFLEX_SCHEDULED_BACKUPS=[{"name":"weekly-gold","tag":"tier","value":"gold","schedule":"0 0 1 * * 6"}]`,
    );
    const weekly = JSON.stringify([
      { name: "weekly-gold", tag: "tier", value: "gold", schedule: "0 0 1 * * 6" },
    ]);
    expect(loadConfig({ ...base, PGFLEX_SCHEDULED_BACKUPS: weekly }).scheduledBackups).toEqual([
      { name: "weekly-gold", tag: "tier", value: "gold", schedule: "0 0 1 * * 6" },
    ]);
  });

  it("parses the policy map from pairs and from JSON, lower-casing tag values", () => {
    expect(loadConfig({ ...base, PGFLEX_POLICY_MAP: "Gold=pg-gold, weekly-3m=pg-weekly" }).policyMap).toEqual(
      {
        gold: "pg-gold",
        "weekly-3m": "pg-weekly",
      },
    );
    expect(loadConfig({ ...base, PGFLEX_POLICY_MAP: '{"silver":"pg-silver"}' }).policyMap).toEqual({
      silver: "pg-silver",
    });
  });

  it("refuses the emulator credential against a non-loopback ARM endpoint", () => {
    expect(() => loadConfig({ ...base, PGFLEX_ARM_CREDENTIAL: "emulator" })).toThrow(
      /the emulator credential is only allowed with a loopback PGFLEX_ARM_ENDPOINT/,
    );
  });

  it("never echoes a secret value in the error", () => {
    expect(() => loadConfig({ ...base, PGFLEX_ALERT_WEBHOOK_URL: "ftp://secret-token@example" })).toThrow(
      /PGFLEX_ALERT_WEBHOOK_URL=\(hidden\)|PGFLEX_ALERT_WEBHOOK_URL="\(hidden\)"/,
    );
  });
});
