/**
 * Writes small custom-format archives for tests, for what this machine's pg_dump (15) cannot make: archive
 * versions 1.15 and 1.16 (PostgreSQL 16, 17+), lz4 and zstd headers, INSERT-style data, oversized TOCs.
 * Follows the layout pg_dump writes (see test/archive/fixtures for archives real pg_dump made).
 */
import { deflateSync } from "node:zlib";

export interface WrittenEntry {
  dumpId: number;
  desc: string;
  tag: string;
  namespace?: string;
  owner?: string;
  /** The TOC's SQL definition (a long one makes the TOC large). */
  defn?: string;
  /** COPY text of a TABLE DATA entry (rows and the `\.` line), or SQL for INSERT-style data with `copy: false`. */
  data?: string | Buffer;
  copy?: boolean;
  largeObjects?: { oid: number; data: Buffer }[];
}

export interface WriteArchiveOptions {
  minor?: 14 | 15 | 16;
  compression?: "none" | "gzip" | "lz4" | "zstd";
  database?: string;
  entries: WrittenEntry[];
  /** Record each data block's offset in the TOC, as pg_dump does when it can seek (default true). */
  recordOffsets?: boolean;
  chunkSize?: number;
}

const int = (value: number): Buffer => {
  const out = Buffer.alloc(5);
  out[0] = value < 0 ? 1 : 0;
  out.writeUInt32LE(Math.abs(value), 1);
  return out;
};
const str = (value: string | null): Buffer =>
  value === null ? int(-1) : Buffer.concat([int(Buffer.byteLength(value)), Buffer.from(value, "utf8")]);
const offset = (flag: number, value: number): Buffer => {
  const out = Buffer.alloc(9);
  out[0] = flag;
  out.writeBigUInt64LE(BigInt(value), 1);
  return out;
};

export function writeArchive(options: WriteArchiveOptions): Buffer {
  const minor = options.minor ?? 15;
  const compression = options.compression ?? "gzip";
  const chunkSize = options.chunkSize ?? 100;
  const header = Buffer.concat([
    Buffer.from("PGDMP", "latin1"),
    Buffer.from([1, minor, 0, 4, 8, 1]),
    minor >= 15
      ? Buffer.from([["none", "gzip", "lz4", "zstd"].indexOf(compression)])
      : int(compression === "none" ? 0 : -1),
    ...[13, 0, 2, 5, 11, 126, 0].map(int),
    str(options.database ?? "db"),
    str(`${minor === 14 ? 15 : minor + 1}.0`),
    str(`${minor === 14 ? 15 : minor + 1}.0`),
  ]);
  const hasData = (e: WrittenEntry): boolean => e.data !== undefined || e.largeObjects !== undefined;
  const toc = (offsets: Map<number, number>): Buffer =>
    Buffer.concat([
      int(options.entries.length),
      ...options.entries.map((e) =>
        Buffer.concat([
          int(e.dumpId),
          int(hasData(e) ? 1 : 0),
          str("0"),
          str("0"),
          str(e.tag),
          str(e.desc),
          int(hasData(e) ? 3 : 2),
          str(e.defn ?? ""),
          str(""),
          str(
            e.data !== undefined && e.copy !== false
              ? `COPY ${e.namespace ?? "public"}.${e.tag} FROM stdin;\n`
              : "",
          ),
          str(e.namespace ?? null),
          str(""),
          ...(minor >= 14 ? [str("")] : []),
          ...(minor >= 16 ? [int(e.desc === "TABLE" ? 114 : 0)] : []),
          str(e.owner ?? "postgres"),
          str("false"),
          str(null),
          !hasData(e)
            ? offset(3, 0)
            : options.recordOffsets === false
              ? offset(1, 0)
              : offset(2, offsets.get(e.dumpId) ?? 0),
        ]),
      ),
    ]);
  const chunks = (payload: Buffer): Buffer => {
    const stored =
      compression === "gzip"
        ? deflateSync(payload)
        : compression === "none"
          ? payload
          : Buffer.from(payload).reverse();
    const parts: Buffer[] = [];
    for (let at = 0; at < stored.length; at += chunkSize) {
      const chunk = stored.subarray(at, at + chunkSize);
      parts.push(int(chunk.length), chunk);
    }
    return Buffer.concat([...parts, int(0)]);
  };
  const blocks = options.entries.filter(hasData).map((e) => ({
    dumpId: e.dumpId,
    bytes: e.largeObjects
      ? Buffer.concat([
          Buffer.from([3]),
          int(e.dumpId),
          ...e.largeObjects.flatMap((lo) => [int(lo.oid), chunks(lo.data)]),
          int(0),
        ])
      : Buffer.concat([Buffer.from([1]), int(e.dumpId), chunks(Buffer.from(e.data ?? ""))]),
  }));
  const offsets = new Map<number, number>();
  let at = header.length + toc(offsets).length;
  for (const block of blocks) {
    offsets.set(block.dumpId, at);
    at += block.bytes.length;
  }
  return Buffer.concat([header, toc(offsets), ...blocks.map((b) => b.bytes)]);
}

/** COPY text for `rows` rows: `1\trow 1\n` …, then the `\.` line and blank lines, as pg_dump writes it. */
export const copyText = (rows: number): string =>
  `${Array.from({ length: rows }, (_, i) => `${i + 1}\trow ${i + 1}\n`).join("")}\\.\n\n\n`;
