/**
 * Relative links in the project's Markdown that do not resolve: a file that is not there, or an #anchor
 * no heading of the target makes (GitHub's heading slugs). Absolute URLs are not fetched. In README.md and
 * docs/*.md, also the repository paths named in inline code (`src/lib/app.ts`, `protection/worker.ts`)
 * that do not exist.
 *   npx tsx dev/docs/links.ts    print every broken link and missing path, exit 1 when there is one
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export interface MarkdownLink {
  target: string;
  line: number;
}

export interface BrokenLink {
  /** Repository-relative path of the file holding the link. */
  file: string;
  line: number;
  link: string;
  problem: string;
}

/** What the checker may look at: the documents to check and the repository around them. */
export interface LinkCheckSource {
  /** Repository-relative paths (with `/`) of the documents to check, with their text. */
  documents: ReadonlyMap<string, string>;
  exists(path: string): boolean;
  /** Text of another Markdown file a link points into, undefined when it cannot be read. */
  read(path: string): string | undefined;
}

/** README.md, docs/*.md, every README under dev/, bench/README.md and drills/README.md. */
export async function documentedFiles(root: string = repoRoot): Promise<string[]> {
  const docs = (await readdir(join(root, "docs"))).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  const devReadmes = (await readdir(join(root, "dev"), { recursive: true }))
    .map((f) => f.split("\\").join("/"))
    .filter((f) => posix.basename(f) === "README.md")
    .map((f) => `dev/${f}`);
  const candidates = ["README.md", ...docs, ...devReadmes, "bench/README.md", "drills/README.md"];
  return candidates.filter((f) => existsSync(join(root, f))).sort();
}

/** Links of a Markdown text, outside code fences and inline code, that are neither URLs nor mail addresses. */
export function relativeLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  for (const { text, line } of proseLines(markdown)) {
    const prose = text.replace(/`[^`]*`/g, "");
    const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);
    const definition = /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(prose)?.[1];
    for (const target of [...inline, ...(definition ? [definition] : [])]) {
      if (target && !/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, line });
    }
  }
  return links;
}

/** The lines of a Markdown text outside code fences, numbered from 1. */
function proseLines(markdown: string): { text: string; line: number }[] {
  const lines: { text: string; line: number }[] = [];
  let fence: string | undefined;
  markdown.split("\n").forEach((text, index) => {
    const marker = /^\s*(```|~~~)/.exec(text)?.[1];
    if (marker && (fence === undefined || fence === marker)) {
      fence = fence === undefined ? marker : undefined;
    } else if (fence === undefined) {
      lines.push({ text, line: index + 1 });
    }
  });
  return lines;
}

/** GitHub's anchor of each heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const text of markdown.split("\n")) {
    const marker = /^\s*(```|~~~)/.exec(text)?.[1];
    if (marker && (fence === undefined || fence === marker)) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    const heading = fence === undefined ? /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1] : undefined;
    if (heading === undefined) continue;
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

export function findBrokenLinks(source: LinkCheckSource): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const [file, text] of source.documents) {
    for (const { target, line } of relativeLinks(text)) {
      const problem = problemOf(file, target, source);
      if (problem) broken.push({ file, line, link: target, problem });
    }
  }
  return broken;
}

function problemOf(file: string, link: string, source: LinkCheckSource): string | undefined {
  const hashAt = link.indexOf("#");
  const pathPart = decodeURIComponent(hashAt < 0 ? link : link.slice(0, hashAt));
  const anchor = hashAt < 0 ? undefined : decodeURIComponent(link.slice(hashAt + 1));
  const target = pathPart === "" ? file : posix.normalize(posix.join(posix.dirname(file), pathPart));
  if (target.startsWith("../")) return `it points outside the repository; link to a file inside it`;
  if (pathPart !== "" && !source.exists(target))
    return `${target} does not exist; fix the path (it is relative to ${folderOf(file)}) or add the file`;
  if (anchor === undefined || !target.endsWith(".md")) return undefined;
  const text = source.documents.get(target) ?? source.read(target);
  if (text === undefined) return `${target} cannot be read to check #${anchor}`;
  const anchors = headingAnchors(text);
  if (anchors.has(anchor)) return undefined;
  return `${target} has no heading for #${anchor}; use one of ${[...anchors].map((a) => `#${a}`).join(", ")}, or rename the heading`;
}

function folderOf(file: string): string {
  const folder = posix.dirname(file);
  return folder === "." ? "the repository root" : `${folder}/`;
}

/** A repository path named in inline code, and where. */
export interface PathMention {
  path: string;
  line: number;
}

/** A named path that does not exist, and where it is named. */
export interface MissingPath {
  file: string;
  line: number;
  path: string;
  problem: string;
}

/**
 * Top-level folders whose paths the docs name from the repository root (`src/lib/app.ts`, `test/infra`).
 * Build output and local folders (`dist/`, `.local/`, `node_modules/`) are not listed: they may be absent.
 */
const ROOT_FOLDERS = [
  "src",
  "dev",
  "test",
  "bench",
  "drills",
  "tools",
  "infra",
  "scripts",
  "docs",
  "bin",
  ".ci",
];

/** Folder that module paths like `protection/worker.ts` or `azure/inventory/types.ts` start from. */
const LIB_FOLDER = "src/lib";

/**
 * Inline code spans outside code fences that are nothing but a relative path with a folder in it:
 * `src/lib/app.ts`, `dev/start/`, `azure/inventory/types.ts`. Globs, placeholders, URLs, package names and
 * anything with spaces (`src/functions/*`, `src/lib/<capability>/`, `@azure/functions`) are not paths.
 */
export function repositoryPaths(markdown: string): PathMention[] {
  const paths: PathMention[] = [];
  for (const { text, line } of proseLines(markdown)) {
    for (const [, code] of text.matchAll(/`([^`]+)`/g)) {
      if (code && /^[\w.-]+(\/[\w.-]+)*\/?$/.test(code) && code.includes("/"))
        paths.push({ path: code, line });
    }
  }
  return paths;
}

/** Whether README.md or a file in docs/: the documents whose named paths are checked. */
function namesCheckedPaths(file: string): boolean {
  return file === "README.md" || /^docs\/[^/]+\.md$/.test(file);
}

/**
 * Paths named in README.md and docs/*.md that do not exist. A path starting with a top-level folder
 * (`src/`, `dev/`, `test/`, …) is read from the repository root; one starting with a folder of `src/lib`
 * (`protection/`, `azure/`, `store/`, …) from `src/lib`; any other (`dist/`, `chart.js/dist/…`) is not ours
 * to check.
 */
export function findMissingPaths(source: LinkCheckSource): MissingPath[] {
  const missing: MissingPath[] = [];
  for (const [file, text] of source.documents) {
    if (!namesCheckedPaths(file)) continue;
    for (const { path, line } of repositoryPaths(text)) {
      const first = path.split("/")[0] ?? "";
      const fromRoot = ROOT_FOLDERS.includes(first);
      if (!fromRoot && !source.exists(`${LIB_FOLDER}/${first}`)) continue;
      const resolved = posix.normalize(fromRoot ? path : `${LIB_FOLDER}/${path}`).replace(/\/$/, "");
      if (source.exists(resolved)) continue;
      missing.push({
        file,
        line,
        path,
        problem: `${resolved} does not exist; name the file where it is now, or drop the mention`,
      });
    }
  }
  return missing;
}

export function describeMissingPath(m: MissingPath): string {
  return `${m.file}:${m.line}: path "${m.path}": ${m.problem}`;
}

/** The repository's documents as a link-check source. */
export async function repositorySource(root: string = repoRoot): Promise<LinkCheckSource> {
  const files = await documentedFiles(root);
  const documents = new Map(
    await Promise.all(files.map(async (f) => [f, await readFile(join(root, f), "utf8")] as const)),
  );
  return {
    documents,
    exists: (path) => existsSync(join(root, path)),
    read: (path) => (existsSync(join(root, path)) ? readFileSync(join(root, path), "utf8") : undefined),
  };
}

export function describeBrokenLink(b: BrokenLink): string {
  return `${b.file}:${b.line}: link "${b.link}": ${b.problem}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const source = await repositorySource();
  const problems = [
    ...findBrokenLinks(source).map(describeBrokenLink),
    ...findMissingPaths(source).map(describeMissingPath),
  ];
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log("Every relative link resolves and every named path exists.");
}
