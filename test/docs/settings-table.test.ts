import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { README, renderSettingsTable, withTable } from "../../dev/docs/settings-table.js";
import { allSettings } from "../../src/lib/config/settings.js";

describe("README configuration table", () => {
  it("matches src/lib/config/settings.ts (run npx tsx dev/docs/settings-table.ts --write when this fails)", async () => {
    const readme = await readFile(README, "utf8");
    expect(readme).toBe(withTable(readme));
  });

  it("has one row per setting, in the order of the list", () => {
    const rows = renderSettingsTable().split("\n").slice(2);
    expect(rows.map((r) => /^\| `([^`]+)`/.exec(r)?.[1])).toEqual(allSettings.map((s) => s.name));
  });

  it("escapes pipes so a description cannot break the table", () => {
    const table = renderSettingsTable([
      {
        name: "X",
        description: "a | b",
        example: "1",
        requiredInAzure: false,
        schema: allSettings[0]!.schema,
      },
    ]);
    expect(table.split("\n")[2]).toBe("| `X` | a \\| b | — | `1` | no |");
  });

  it("refuses a README without the markers", () => {
    expect(() => withTable("# nothing here")).toThrow(/README.md has no settings table markers/);
  });
});
