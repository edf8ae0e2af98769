import { readChunks } from "./blocks.js";
import { CopyRowCounter } from "./copyRows.js";
import { ArchiveCursor } from "./cursor.js";
import { ArchiveError } from "./errors.js";
import { readHeader, type ArchiveHeader } from "./header.js";
import type { ArchiveSource } from "./source.js";
import { readToc, type TocEntry } from "./toc.js";

/** `header`: header and TOC from a bounded prefix; `rows`: the whole archive, data inflated and rows counted. */
export type InspectionLevel = "header" | "rows";

/** The most the `header` level reads, whatever the archive's size. */
export const HEADER_BUDGET_BYTES = 1024 * 1024;
const RANGE_BYTES = 64 * 1024;

export interface ArchiveTable {
  schema: string | null;
  name: string;
  owner: string | null;
  /** Rows (COPY lines before `\.`); absent at the `header` level, for INSERT-style data and for lz4/zstd. */
  rows?: number;
  /** Bytes of the table's data after inflating (absent where rows are). */
  bytes?: number;
  /** Bytes of the table's data block as stored in the archive. */
  storedBytes?: number;
  /** Why rows are absent at the `rows` level. */
  note?: string;
}

export interface ArchiveInspection {
  level: InspectionLevel;
  header: ArchiveHeader;
  toc: {
    /** Entries the archive declares. */
    entries: number;
    /** Entries read (fewer than `entries` only when a `header` inspection's TOC passes the read budget). */
    read: number;
    /** Entries by description: `{ "TABLE": 3, "TABLE DATA": 3, "INDEX": 2, … }`. */
    byDescription: Record<string, number>;
  };
  /** Tables (TOC `TABLE` and `TABLE DATA` entries), by schema then name. */
  tables: ArchiveTable[];
  /** At the `rows` level: large objects and their inflated bytes. */
  largeObjects?: { count: number; bytes: number };
  /** At the `rows` level: sum of rows and inflated bytes over the tables counted. */
  totals?: { rows: number; bytes: number };
  /** Set when the data was not inflated (lz4, zstd): its framing was still checked. */
  dataNotInspected?: string;
  /** Size of the archive. */
  archiveBytes: number;
  /** Bytes read from the source (at most {@link HEADER_BUDGET_BYTES} at the `header` level). */
  bytesRead: number;
}

export interface InspectArchiveOptions {
  level?: InspectionLevel;
  abortSignal?: AbortSignal;
}

class BudgetReached extends Error {}

/**
 * Inspects a pg_dump custom-format archive. Throws {@link ArchiveError} (with the byte offset and the
 * reason) when the archive is truncated, corrupt or of a kind this reader does not read; nothing else,
 * except an abort.
 */
export async function inspectArchive(
  source: ArchiveSource,
  options: InspectArchiveOptions = {},
): Promise<ArchiveInspection> {
  const level = options.level ?? "rows";
  let bytesRead = 0;
  const signal = options.abortSignal;
  const counted = async function* (chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    for await (const chunk of chunks) {
      signal?.throwIfAborted();
      bytesRead += chunk.length;
      yield chunk;
    }
  };
  const ranges = async function* (): AsyncIterable<Buffer> {
    const end = Math.min(source.size, HEADER_BUDGET_BYTES);
    for (let at = 0; at < end;) {
      const chunk = await source.read(at, Math.min(RANGE_BYTES, end - at));
      if (chunk.length === 0) return;
      at += chunk.length;
      yield chunk;
    }
  };
  const cursor =
    level === "header"
      ? new ArchiveCursor(counted(ranges()), 0, source.size, {
          end: HEADER_BUDGET_BYTES,
          error: () => new BudgetReached(),
        })
      : new ArchiveCursor(counted(source.stream(0)), 0, source.size);

  const { header, version } = await readHeader(cursor).catch((error: unknown) => {
    throw error instanceof BudgetReached
      ? new ArchiveError("corrupt", cursor.offset, `the header is longer than ${HEADER_BUDGET_BYTES} bytes`)
      : error;
  });
  const entries = new Map<number, TocEntry>();
  let declared = 0;
  try {
    await readToc(
      cursor,
      version,
      (count) => (declared = count),
      (entry) => entries.set(entry.dumpId, entry),
    );
  } catch (error) {
    if (!(error instanceof BudgetReached)) throw error;
  }

  const tables = new Map<string, ArchiveTable & { dataId?: number }>();
  const tableOf = (entry: TocEntry): ArchiveTable & { dataId?: number } => {
    const key = `${entry.namespace ?? ""}\u0000${entry.tag}`;
    let table = tables.get(key);
    if (!table) tables.set(key, (table = { schema: entry.namespace, name: entry.tag, owner: entry.owner }));
    return table;
  };
  const byDescription: Record<string, number> = {};
  for (const entry of entries.values()) {
    byDescription[entry.desc] = (byDescription[entry.desc] ?? 0) + 1;
    if (entry.desc === "TABLE") tableOf(entry);
    if (entry.desc === "TABLE DATA") tableOf(entry).dataId = entry.dumpId;
  }

  const inspection: ArchiveInspection = {
    level,
    header,
    toc: { entries: declared, read: entries.size, byDescription },
    tables: [],
    archiveBytes: source.size,
    bytesRead: 0,
  };
  if (level === "rows") {
    const found = await readData(cursor, entries, header);
    for (const table of tables.values())
      if (table.dataId !== undefined) Object.assign(table, found.get(table.dataId));
    inspection.largeObjects = found.largeObjects;
    inspection.totals = { rows: 0, bytes: 0 };
    for (const table of tables.values()) {
      inspection.totals.rows += table.rows ?? 0;
      inspection.totals.bytes += table.bytes ?? 0;
    }
    if (header.compression === "lz4" || header.compression === "zstd")
      inspection.dataNotInspected = `${header.compression} data is not inflated by this inspector: its framing was checked, rows were not counted`;
  }
  inspection.tables = [...tables.values()]
    .map(({ dataId: _, ...table }) => table)
    .sort((a, b) => (a.schema ?? "").localeCompare(b.schema ?? "") || a.name.localeCompare(b.name));
  inspection.bytesRead = bytesRead;
  return inspection;
}

const BLOCK_DATA = 1;
const BLOCK_LARGE_OBJECTS = 3;

type DataFound = Map<number, Omit<ArchiveTable, "schema" | "name" | "owner">> & {
  largeObjects?: { count: number; bytes: number };
};

/** Reads every data block after the TOC to the archive's end, checking each against the TOC. */
async function readData(
  cursor: ArchiveCursor,
  entries: Map<number, TocEntry>,
  header: ArchiveHeader,
): Promise<DataFound> {
  const found: DataFound = new Map();
  const inflated = header.compression === "none" || header.compression === "gzip";
  while (!cursor.atEnd()) {
    const at = cursor.offset;
    const type = await cursor.byte("data block type");
    if (type !== BLOCK_DATA && type !== BLOCK_LARGE_OBJECTS)
      throw new ArchiveError(
        "corrupt",
        at,
        `data block type ${type} is neither ${BLOCK_DATA} (table data) nor ${BLOCK_LARGE_OBJECTS} (large objects)`,
      );
    const dumpId = await cursor.int("data block dump id");
    const entry = entries.get(dumpId);
    if (!entry)
      throw new ArchiveError("corrupt", at, `data block for dump id ${dumpId}: no TOC entry has that id`);
    const label = `${entry.desc} ${entry.namespace ? `${entry.namespace}.` : ""}${entry.tag} (dump id ${dumpId})`;
    if (!entry.hasData)
      throw new ArchiveError("corrupt", at, `data block for ${label}: the TOC says it has no data`);
    if (found.has(dumpId)) throw new ArchiveError("corrupt", at, `second data block for ${label}`);
    if (entry.dataOffset !== undefined && entry.dataOffset !== at)
      throw new ArchiveError(
        "corrupt",
        at,
        `data block for ${label}: the TOC places it at byte ${entry.dataOffset}`,
      );
    if (type === BLOCK_LARGE_OBJECTS) {
      const largeObjects = (found.largeObjects ??= { count: 0, bytes: 0 });
      found.set(dumpId, {});
      for (;;) {
        const oidAt = cursor.offset;
        const oid = await cursor.int(`${label}: large object oid`);
        if (oid === 0) break;
        if (oid < 0)
          throw new ArchiveError("corrupt", oidAt, `${label}: large object oid ${oid} is negative`);
        const totals = await readChunks(
          cursor,
          header.compression,
          `${label}: large object ${oid}`,
          () => undefined,
        );
        largeObjects.count++;
        largeObjects.bytes += totals.bytes;
      }
      continue;
    }
    const counter = entry.copy && inflated ? new CopyRowCounter() : undefined;
    const totals = await readChunks(cursor, header.compression, label, (slice) => counter?.push(slice));
    if (counter && !counter.ended)
      throw new ArchiveError("corrupt", at, `${label}: the COPY data has no \\. end marker`);
    if (counter?.textAfterEnd || counter?.unterminated)
      throw new ArchiveError("corrupt", at, `${label}: text follows the COPY data's \\. end marker`);
    found.set(dumpId, {
      storedBytes: totals.stored,
      ...(counter ? { rows: counter.rows, bytes: totals.bytes } : {}),
      ...(!inflated
        ? { note: `${header.compression} data not inspected` }
        : !counter
          ? { bytes: totals.bytes, note: "data as INSERT statements: rows not counted" }
          : {}),
    });
  }
  for (const entry of entries.values())
    if (entry.hasData && !found.has(entry.dumpId))
      throw new ArchiveError(
        "truncated",
        cursor.archiveEnd,
        `the archive ends without the data of ${entry.desc} ${entry.namespace ? `${entry.namespace}.` : ""}${entry.tag} (dump id ${entry.dumpId})`,
      );
  return found;
}
