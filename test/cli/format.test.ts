import { describe, expect, it } from "vitest";
import { table } from "../../src/cli/format.js";

describe("table", () => {
  it("aligns columns under a rule and trims trailing spaces", () => {
    expect(
      table(
        ["NAME", "STATE"],
        [
          ["orders-db", "Protected"],
          ["a", ""],
        ],
      ),
    ).toBe("NAME       STATE\n---------  ---------\norders-db  Protected\na\n");
  });
});
