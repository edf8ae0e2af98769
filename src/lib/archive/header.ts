import type { ArchiveCursor } from "./cursor.js";
import { ArchiveError } from "./errors.js";

/** How the archive's data blocks are compressed. */
export type ArchiveCompression = "none" | "gzip" | "lz4" | "zstd";

export interface ArchiveHeader {
  /** `1.14.0` (PostgreSQL 12–15), `1.15.0` (16), `1.16.0` (17+). */
  version: string;
  intSize: number;
  offSize: number;
  format: "custom";
  compression: ArchiveCompression;
  /** gzip level for archives before 1.15 (`-1` is zlib's default); absent from 1.15 on. */
  compressionLevel?: number;
  /** When pg_dump started, in the dumping machine's local time (the archive stores no time zone): `2026-12-05 02:00:13`. */
  createdAt: string;
  database: string | null;
  serverVersion: string | null;
  pgDumpVersion: string | null;
}

const MAGIC = Buffer.from("PGDMP", "latin1");
/** Oldest and newest archive versions this reader knows (1.11 added TOC sections; 1.16 is PostgreSQL 17's). */
const MIN_MINOR = 11;
const MAX_MINOR = 16;
const FORMATS: Record<number, string> = { 1: "custom", 2: "files", 3: "tar", 4: "plain", 5: "directory" };
const ALGORITHMS: ArchiveCompression[] = ["none", "gzip", "lz4", "zstd"];

/** Numeric archive version, comparable: 1.15.0 → 0x010f00. */
export const archiveVersion = (major: number, minor: number, rev = 0): number =>
  (major * 256 + minor) * 256 + rev;

export interface ParsedHeader {
  header: ArchiveHeader;
  /** {@link archiveVersion} of the archive. */
  version: number;
}

/** Reads the header at the cursor (offset 0), checking every field pg_restore checks and a few more. */
export async function readHeader(cursor: ArchiveCursor): Promise<ParsedHeader> {
  const magic = await cursor.bytes(MAGIC.length, "magic").catch((error: unknown) => {
    throw error instanceof ArchiveError && error.kind === "truncated"
      ? new ArchiveError("unsupported", 0, "not a pg_dump archive: shorter than the 5-byte PGDMP magic")
      : error;
  });
  if (!magic.equals(MAGIC)) {
    const text = magic.toString("latin1");
    throw new ArchiveError(
      "unsupported",
      0,
      text.startsWith("--") || /^[\x20-\x7e\n]+$/.test(text)
        ? "not a custom-format archive: it looks like plain SQL (pg_dump -Fp or pg_dumpall)"
        : "not a pg_dump custom-format archive: no PGDMP magic",
      "Plain SQL needs no inspector (read it, or load it with psql); dump with pg_dump -Fc for a custom-format archive.",
    );
  }
  const major = await cursor.byte("archive major version");
  const minor = await cursor.byte("archive minor version");
  const rev = major > 1 || minor > 0 ? await cursor.byte("archive revision") : 0;
  if (major !== 1 || minor < MIN_MINOR || minor > MAX_MINOR)
    throw new ArchiveError(
      "unsupported",
      MAGIC.length,
      `archive version ${major}.${minor}.${rev}: this inspector reads 1.${MIN_MINOR} to 1.${MAX_MINOR}; PostgreSQL 17 and 18 write 1.16`,
    );
  const version = archiveVersion(major, minor, rev);
  let at = cursor.offset;
  const intSize = await cursor.byte("integer size");
  if (intSize < 1 || intSize > 8)
    throw new ArchiveError("corrupt", at, `integer size ${intSize} is not 1 to 8 bytes (pg_dump writes 4)`);
  cursor.intSize = intSize;
  at = cursor.offset;
  const offSize = await cursor.byte("offset size");
  if (offSize < 1 || offSize > 8)
    throw new ArchiveError("corrupt", at, `offset size ${offSize} is not 1 to 8 bytes (pg_dump writes 8)`);
  cursor.offSize = offSize;
  at = cursor.offset;
  const format = await cursor.byte("format");
  if (format !== 1) {
    const name = FORMATS[format];
    if (name)
      throw new ArchiveError(
        "unsupported",
        at,
        `the ${name} format: this inspector reads the custom format (pg_dump -Fc)`,
        "Inspect it with pg_restore --list, or dump with pg_dump -Fc.",
      );
    throw new ArchiveError("corrupt", at, `format ${format} is not a pg_dump archive format`);
  }
  at = cursor.offset;
  let compression: ArchiveCompression;
  let compressionLevel: number | undefined;
  if (version >= archiveVersion(1, 15)) {
    const algorithm = await cursor.byte("compression algorithm");
    const known = ALGORITHMS[algorithm];
    if (!known) throw new ArchiveError("corrupt", at, `compression algorithm ${algorithm} is not 0 to 3`);
    compression = known;
  } else {
    compressionLevel = await cursor.int("compression level");
    if (compressionLevel < -1 || compressionLevel > 9)
      throw new ArchiveError("corrupt", at, `compression level ${compressionLevel} is not -1 to 9`);
    compression = compressionLevel === 0 ? "none" : "gzip";
  }
  const time: number[] = [];
  for (const field of ["second", "minute", "hour", "day", "month", "year", "daylight saving"])
    time.push(await cursor.int(`creation time (${field})`));
  const [sec, min, hour, mday, mon, year] = time as [number, number, number, number, number, number];
  const database = await cursor.str("database name");
  const serverVersion = await cursor.str("server version");
  const pgDumpVersion = await cursor.str("pg_dump version");
  const two = (n: number): string => String(n).padStart(2, "0");
  return {
    version,
    header: {
      version: `${major}.${minor}.${rev}`,
      intSize,
      offSize,
      format: "custom",
      compression,
      ...(compressionLevel === undefined ? {} : { compressionLevel }),
      createdAt: `${1900 + year}-${two(mon + 1)}-${two(mday)} ${two(hour)}:${two(min)}:${two(sec)}`,
      database,
      serverVersion,
      pgDumpVersion,
    },
  };
}
