import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { SETTINGS_DOC, renderSettingsTable, withTable } from "../../dev/docs/settings-table.js";
import { allSettings } from "../../src/lib/config/settings.js";

describe("docs/configuration.md settings table", () => {
  it("matches src/lib/config/settings.ts (run npx tsx dev/docs/settings-table.ts --write when this fails)", async () => {
    const doc = await readFile(SETTINGS_DOC, "utf8");
    expect(doc).toBe(withTable(doc));
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

  it("refuses a document without the markers", () => {
    expect(() => withTable("# nothing here")).toThrow(/docs\/configuration.md has no settings table markers/);
  });
});
