import { describe, expect, it } from "vitest";
import {
  describeBrokenLink,
  documentedFiles,
  findBrokenLinks,
  headingAnchors,
  relativeLinks,
  repositorySource,
  type LinkCheckSource,
} from "../../dev/docs/links.js";

function aSource(documents: Record<string, string>, otherFiles: string[] = []): LinkCheckSource {
  const all = new Map(Object.entries(documents));
  return {
    documents: all,
    exists: (path) => all.has(path) || otherFiles.includes(path),
    read: (path) => all.get(path),
  };
}

describe("relative links in the project's Markdown", () => {
  it("all resolve, to a file and to a heading of it (npx tsx dev/docs/links.ts lists them)", async () => {
    const broken = findBrokenLinks(await repositorySource());
    expect(broken.map(describeBrokenLink).join("\n")).toBe("");
  });

  it("are checked in the README, every doc, the dev READMEs and the bench and drills READMEs", async () => {
    const files = await documentedFiles();
    expect(files).toEqual(
      expect.arrayContaining([
        "README.md",
        "docs/api.md",
        "docs/architecture.md",
        "docs/configuration.md",
        "docs/deployment.md",
        "docs/operations.md",
        "dev/emulator/README.md",
        "dev/host/README.md",
        "bench/README.md",
        "drills/README.md",
      ]),
    );
  });
});

describe("the link checker", () => {
  it("names the file, the line, the link and the fix for a file that does not exist", () => {
    const source = aSource({ "README.md": "# Title\n\nSee [the API](docs/ap.md).\n" });
    expect(findBrokenLinks(source).map(describeBrokenLink)).toEqual([
      'README.md:3: link "docs/ap.md": docs/ap.md does not exist; fix the path (it is relative to the repository root) or add the file',
    ]);
  });

  it("resolves links relative to the linking file", () => {
    const source = aSource({ "docs/api.md": "[up](../README.md) [sibling](cli.md)", "README.md": "# R" }, [
      "docs/cli.md",
    ]);
    expect(findBrokenLinks(source)).toEqual([]);
  });

  it("reports an anchor no heading of the target makes, listing the anchors there", () => {
    const source = aSource({
      "README.md": "[states](docs/ops.md#states) [here](#quick-start)\n\n## Quick start\n",
      "docs/ops.md": "# Operations\n\n## Protection states\n",
    });
    expect(findBrokenLinks(source).map(describeBrokenLink)).toEqual([
      'README.md:1: link "docs/ops.md#states": docs/ops.md has no heading for #states; use one of #operations, #protection-states, or rename the heading',
    ]);
  });

  it("refuses a link that leaves the repository", () => {
    const source = aSource({ "docs/a.md": "[x](../../elsewhere.md)" });
    expect(findBrokenLinks(source)[0]?.problem).toBe(
      "it points outside the repository; link to a file inside it",
    );
  });

  it("ignores URLs, code fences and inline code", () => {
    const markdown = [
      "[site](https://example.com/x.md) [mail](mailto:a@b.c) `[not](a-link.md)`",
      "```",
      "[also not](missing.md)",
      "```",
      "[ref]: docs/real.md",
    ].join("\n");
    expect(relativeLinks(markdown)).toEqual([{ target: "docs/real.md", line: 5 }]);
  });

  it("makes GitHub's heading anchors, numbering repeats and skipping fenced lines", () => {
    const markdown = [
      "# ARM access (`src/lib/azure`)",
      "## Protection (events → worker)",
      "## Notes",
      "## Notes",
      "```",
      "# not a heading",
      "```",
    ].join("\n");
    expect([...headingAnchors(markdown)]).toEqual([
      "arm-access-srclibazure",
      "protection-events--worker",
      "notes",
      "notes-1",
    ]);
  });
});
