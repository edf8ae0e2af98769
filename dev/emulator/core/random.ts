import { randomUUID } from "node:crypto";

/** Seedable PRNG (mulberry32) so chaos runs are reproducible with a `faultSeed`. */
export interface Random {
  next(): number;
  guid(): string;
}

export function createRandom(seed?: number): Random {
  if (seed === undefined) {
    return { next: () => Math.random(), guid: () => randomUUID() };
  }
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const hex = (n: number): string =>
    Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join("");
  return {
    next,
    guid: () =>
      `${hex(8)}-${hex(4)}-4${hex(3)}-${((8 + Math.floor(next() * 4)) as number).toString(16)}${hex(3)}-${hex(12)}`,
  };
}
