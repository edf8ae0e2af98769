import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseCircular, parseDependencyTree } from "dpdm";

/**
 * Import cycles over a source tree, at two grains: modules that import each other, and folders that do
 * (`lib/http` → `lib/auth` → `lib/http` is a cycle even when no single module closes it). Type-only imports
 * are dropped (dpdm's transform): they vanish at run time. `npm run lint` runs it over src.
 */
export interface ImportCycles {
  /** Module cycles as dpdm reports them, paths relative to the root. */
  modules: string[][];
  /** Folder cycles (see {@link folderOf}), each as the folders in import order. */
  folders: string[][];
}

export interface FindImportCyclesOptions {
  /** tsconfig used to resolve `.js` specifiers to `.ts` files. Default the repository's. */
  tsconfig?: string;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The folder a module belongs to: `lib/<capability>` under lib, else its top folder (`functions`, `cli`). A
 * module directly in lib (`app.ts`, `errors.ts`) stands alone: the root and the base files are different layers.
 */
export function folderOf(relativePath: string): string {
  const parts = relativePath.split("/");
  if (parts[0] === "lib") return parts.length > 2 ? `lib/${parts[1]}` : relativePath;
  return parts.length > 1 ? (parts[0] as string) : relativePath;
}

export async function findImportCycles(
  root: string,
  options: FindImportCyclesOptions = {},
): Promise<ImportCycles> {
  const context = path.resolve(root);
  const tree = await parseDependencyTree("**/*.ts", {
    context,
    cwd: context,
    tsconfig: options.tsconfig ?? path.join(repoRoot, "tsconfig.json"),
    transform: true,
  });
  const relative = (file: string): string =>
    path.relative(context, path.resolve(context, file)).split(path.sep).join("/");
  const modules = parseCircular(tree).map((cycle) => cycle.map(relative));

  const edges = new Map<string, Set<string>>();
  for (const [file, dependencies] of Object.entries(tree)) {
    const from = folderOf(relative(file));
    for (const dependency of dependencies ?? []) {
      if (!dependency.id || !path.resolve(context, dependency.id).startsWith(context + path.sep)) continue;
      const to = folderOf(relative(dependency.id));
      if (to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  return { modules, folders: folderCycles(edges) };
}

/** One cycle per strongly connected group of folders (Tarjan), listed in import order from its smallest name. */
function folderCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (stack.includes(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        group.push(member);
      } while (member !== node);
      if (group.length > 1) groups.push(group);
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return groups.map((group) => pathThrough(group.sort(), edges));
}

/** A closed path from the group's first folder back to itself (shortest, breadth first), to print. */
function pathThrough(group: readonly string[], edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const start = group[0] as string;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const node = queue.shift() as string;
    for (const next of edges.get(node) ?? []) {
      if (!group.includes(next)) continue;
      if (next === start) {
        const cycle = [node];
        while (cycle[0] !== start) cycle.unshift(previous.get(cycle[0] as string) as string);
        return cycle;
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...group];
}

function describe(cycles: ImportCycles): string[] {
  return [
    ...cycles.modules.map((cycle) => `module cycle: ${[...cycle, cycle[0]].join(" -> ")}`),
    ...cycles.folders.map((cycle) => `folder cycle: ${[...cycle, cycle[0]].join(" -> ")}`),
  ];
}

/** The cycles `npm run lint` fails on, one line each. */
export async function importCycleProblems(root: string): Promise<string[]> {
  return describe(await findImportCycles(root));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2] ?? "src";
  const problems = await importCycleProblems(root);
  for (const line of problems) console.error(line);
  if (problems.length) {
    console.error(
      `${problems.length} import cycle(s) in ${root}: break them (see docs/architecture.md, Layers and boundaries).`,
    );
    process.exit(1);
  }
  console.log(`No import cycles in ${root}.`);
}
