import { describe, expect, it } from "vitest";
import {
  describeBrokenLink,
  describeMissingPath,
  documentedFiles,
  findBrokenLinks,
  findMissingPaths,
  headingAnchors,
  relativeLinks,
  repositoryPaths,
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

describe("repository paths named in the README and docs", () => {
  it("all exist (npx tsx dev/docs/links.ts lists the ones that do not)", async () => {
    const missing = findMissingPaths(await repositorySource());
    expect(missing.map(describeMissingPath).join("\n")).toBe("");
  });
});

describe("the named-path checker", () => {
  const tree = ["src/lib/app.ts", "src/lib/protection", "src/lib/protection/worker.ts", "dev/start"];

  it("names the file, the line, the path and the fix for a path that does not exist", () => {
    const source = aSource(
      {
        "docs/architecture.md":
          "# A\n\nThe root is `src/lib/app.ts`; the inventory `src/lib/azure/inventory.ts`.\n",
      },
      tree,
    );
    expect(findMissingPaths(source).map(describeMissingPath)).toEqual([
      'docs/architecture.md:3: path "src/lib/azure/inventory.ts": src/lib/azure/inventory.ts does not exist; name the file where it is now, or drop the mention',
    ]);
  });

  it("reads a path that starts with a folder of src/lib from src/lib", () => {
    const source = aSource(
      {
        "README.md":
          "`protection/worker.ts` runs it, `protection/messages.ts` no longer exists, `dev/start/` starts it",
      },
      tree,
    );
    expect(findMissingPaths(source).map((m) => m.problem)).toEqual([
      "src/lib/protection/messages.ts does not exist; name the file where it is now, or drop the mention",
    ]);
  });

  it("checks README.md and docs/*.md only", () => {
    const text = "`src/lib/gone.ts`";
    const source = aSource({ "README.md": text, "docs/ops.md": text, "bench/README.md": text }, tree);
    expect(findMissingPaths(source).map((m) => m.file)).toEqual(["README.md", "docs/ops.md"]);
  });

  it("takes only inline code that is a path, outside code fences", () => {
    const markdown = [
      "`src/functions/*` `src/lib/<capability>/` `@azure/functions` `https://x.io/a.md` `npm run lint`",
      "`PGFLEX_MODE` `a.ts` [link](src/lib/linked.ts)",
      "```",
      "`src/lib/fenced.ts`",
      "```",
      "`src/lib/app.ts` and `dev/start/`",
    ].join("\n");
    expect(repositoryPaths(markdown)).toEqual([
      { path: "src/lib/app.ts", line: 6 },
      { path: "dev/start/", line: 6 },
    ]);
  });

  it("leaves alone paths outside the repository's own folders (build output, packages)", () => {
    const source = aSource(
      { "docs/a.md": "`dist/` `chart.js/dist/chart.umd.js` `.local/npm-start.log`" },
      tree,
    );
    expect(findMissingPaths(source)).toEqual([]);
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
