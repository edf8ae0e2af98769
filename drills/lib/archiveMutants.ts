/**
 * Mutants of real pg_dump archives for the inspector's fuzzing (drills/archiveFuzz.ts, and a seeded sample in
 * test/archive/fuzz.test.ts): truncations, flipped bytes, absurd lengths. Each mutant is inspected at the
 * `rows` level and must either inspect or fail with an {@link ArchiveError} whose offset lies in the file.
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ArchiveError } from "../../src/lib/archive/errors.js";
import { inspectArchive } from "../../src/lib/archive/inspect.js";
import { bufferSource } from "../../src/lib/archive/source.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test", "archive", "fixtures");

/** The committed archives real pg_dump made (test/archive/fixtures), by file name. */
export async function realArchives(): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of (await readdir(FIXTURES)).sort())
    if (name.endsWith(".dump")) out.set(name, await readFile(join(FIXTURES, name)));
  return out;
}

export interface Mutant {
  kind: "truncation" | "flip" | "absurd length";
  /** `bytea.dump cut at 812`. */
  label: string;
  bytes: Buffer;
}

/** A small seeded generator (mulberry32), so every run makes the same mutants. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A sign byte and four bytes, as pg_dump writes an integer: huge, negative, or just past the end. */
const ABSURD = [
  [0, 0xff, 0xff, 0xff, 0x7f],
  [1, 0x05, 0, 0, 0],
  [0, 0, 0, 0, 0x40],
  [7, 1, 0, 0, 0],
];

export interface MutantPlan {
  /** Cut every archive at every offset (`all`), or at this many seeded offsets per archive. */
  truncations: "all" | number;
  flipsPerArchive: number;
  absurdPerArchive: number;
  seed: number;
}

export function* mutants(archives: Map<string, Buffer>, plan: MutantPlan): Generator<Mutant> {
  const next = random(plan.seed);
  const at = (bytes: Buffer): number => Math.floor(next() * bytes.length);
  for (const [name, bytes] of archives) {
    const cuts =
      plan.truncations === "all"
        ? Array.from({ length: bytes.length }, (_, i) => i)
        : Array.from({ length: plan.truncations }, () => at(bytes));
    for (const cut of cuts)
      yield { kind: "truncation", label: `${name} cut at ${cut}`, bytes: bytes.subarray(0, cut) };
    for (let i = 0; i < plan.flipsPerArchive; i++) {
      const copy = Buffer.from(bytes);
      const positions: number[] = [];
      for (let n = 1 + Math.floor(next() * 3); n > 0; n--) {
        const p = at(copy);
        copy[p] = copy[p]! ^ (1 + Math.floor(next() * 255));
        positions.push(p);
      }
      yield { kind: "flip", label: `${name} flipped at ${positions.join(", ")}`, bytes: copy };
    }
    for (let i = 0; i < plan.absurdPerArchive; i++) {
      const copy = Buffer.from(bytes);
      const p = Math.min(at(copy), copy.length - 5);
      const value = ABSURD[i % ABSURD.length]!;
      copy.set(value, p);
      yield { kind: "absurd length", label: `${name} integer [${value.join(",")}] at ${p}`, bytes: copy };
    }
  }
}

export interface MutantVerdict {
  /** Inspected (a mutation pg_dump's format cannot notice, e.g. a changed character in a row) or failed cleanly. */
  outcome: "inspected" | "failed cleanly" | "bad failure";
  detail?: string;
}

/** Inspects a mutant at the `rows` level; anything but success or an ArchiveError inside the file is bad. */
export async function judge(mutant: Mutant): Promise<MutantVerdict> {
  try {
    await inspectArchive(bufferSource(mutant.bytes, 1024));
    if (mutant.kind === "truncation")
      return { outcome: "bad failure", detail: `${mutant.label}: inspected although cut short` };
    return { outcome: "inspected" };
  } catch (error) {
    if (!(error instanceof ArchiveError))
      return { outcome: "bad failure", detail: `${mutant.label}: ${String(error)}` };
    if (error.offset < 0 || error.offset > mutant.bytes.length || !error.reason || !error.fix)
      return {
        outcome: "bad failure",
        detail: `${mutant.label}: offset ${error.offset} outside the file: ${error.message}`,
      };
    if (mutant.kind === "truncation" && error.kind === "corrupt")
      return {
        outcome: "bad failure",
        detail: `${mutant.label}: called corrupt, not truncated: ${error.message}`,
      };
    return { outcome: "failed cleanly", detail: error.message };
  }
}
