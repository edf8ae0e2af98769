import type { ArchiveCursor } from "./cursor.js";
import { ArchiveError } from "./errors.js";
import { archiveVersion } from "./header.js";

/** One table-of-contents entry, without its SQL (definitions are read and dropped, never kept). */
export interface TocEntry {
  dumpId: number;
  /** `TABLE`, `TABLE DATA`, `SEQUENCE`, `INDEX`, `BLOBS`, … */
  desc: string;
  namespace: string | null;
  /** The object's name (`orders`), or for some descriptions a longer label. */
  tag: string;
  owner: string | null;
  /** True when a data block belongs to this entry (table rows, large objects). */
  hasData: boolean;
  /** Where the entry's data block starts, when pg_dump could seek back and record it. */
  dataOffset?: number;
  /** The data is COPY text (rows are lines up to `\.`); false for INSERT statements and large objects. */
  copy: boolean;
}

const OFFSET_NOT_SET = 1;
const OFFSET_SET = 2;
const OFFSET_NO_DATA = 3;

/** Smallest number of bytes one entry can take, to refuse an entry count the archive cannot hold. */
function minimumEntryBytes(cursor: ArchiveCursor, version: number): number {
  const int = 1 + cursor.intSize;
  const ints = 3 + (version >= archiveVersion(1, 16) ? 1 : 0);
  const strings = 12 + (version >= archiveVersion(1, 14) ? 1 : 0);
  return (ints + strings) * int + 1 + cursor.offSize;
}

/**
 * Reads the TOC at the cursor. `onEntry` sees each entry as it is read (so a budget that runs out mid-TOC
 * still leaves the entries read so far); `onCount` gets the number of entries the archive declares.
 */
export async function readToc(
  cursor: ArchiveCursor,
  version: number,
  onCount: (count: number) => void,
  onEntry: (entry: TocEntry) => void,
): Promise<void> {
  let at = cursor.offset;
  const count = await cursor.int("TOC entry count");
  const fits = Math.floor((cursor.archiveEnd - cursor.offset) / minimumEntryBytes(cursor, version));
  if (count < 0 || count > fits)
    throw new ArchiveError(
      count < 0 ? "corrupt" : "truncated",
      at,
      `TOC entry count ${count} cannot fit in the ${cursor.archiveEnd - cursor.offset} byte(s) that remain`,
    );
  onCount(count);
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    at = cursor.offset;
    const label = `TOC entry ${i + 1} of ${count}`;
    const dumpId = await cursor.int(`${label}: dump id`);
    if (dumpId <= 0) throw new ArchiveError("corrupt", at, `${label}: dump id ${dumpId} is not positive`);
    if (seen.has(dumpId)) throw new ArchiveError("corrupt", at, `${label}: dump id ${dumpId} appears twice`);
    seen.add(dumpId);
    await cursor.int(`${label}: data flag`);
    await cursor.str(`${label}: table oid`);
    await cursor.str(`${label}: oid`);
    const tag = await cursor.str(`${label}: tag`);
    at = cursor.offset;
    const desc = await cursor.str(`${label}: description`);
    if (desc === null || tag === null)
      throw new ArchiveError("corrupt", at, `${label}: ${desc === null ? "description" : "tag"} is missing`);
    at = cursor.offset;
    const section = await cursor.int(`${label}: section`);
    if (section < 1 || section > 4)
      throw new ArchiveError("corrupt", at, `${label} (${desc}): section ${section} is not 1 to 4`);
    await cursor.str(`${label}: definition`);
    await cursor.str(`${label}: drop statement`);
    const copyStmt = await cursor.str(`${label}: copy statement`);
    const namespace = await cursor.str(`${label}: namespace`);
    await cursor.str(`${label}: tablespace`);
    if (version >= archiveVersion(1, 14)) await cursor.str(`${label}: table access method`);
    if (version >= archiveVersion(1, 16)) await cursor.int(`${label}: relkind`);
    const owner = await cursor.str(`${label}: owner`);
    at = cursor.offset;
    const withOids = await cursor.str(`${label}: with-oids flag`);
    if (withOids !== "false" && withOids !== "true")
      throw new ArchiveError(
        "corrupt",
        at,
        `${label}: with-oids flag is ${JSON.stringify(withOids)}, expected "false"`,
      );
    for (let d = 0; ; d++) {
      at = cursor.offset;
      const dependency = await cursor.str(`${label}: dependency ${d + 1}`);
      if (dependency === null) break;
      if (!/^\d+$/.test(dependency))
        throw new ArchiveError(
          "corrupt",
          at,
          `${label}: dependency ${JSON.stringify(dependency.slice(0, 40))} is not a dump id`,
        );
    }
    at = cursor.offset;
    const data = await cursor.offsetField(`${label}: data offset`);
    if (data.flag < OFFSET_NOT_SET || data.flag > OFFSET_NO_DATA)
      throw new ArchiveError("corrupt", at, `${label}: data offset flag ${data.flag} is not 1 to 3`);
    if (data.flag === OFFSET_SET && data.value >= cursor.archiveEnd)
      throw new ArchiveError(
        "truncated",
        at,
        `${label} (${desc} ${tag}): its data starts at byte ${data.value}, past the archive's end at byte ${cursor.archiveEnd}`,
      );
    onEntry({
      dumpId,
      desc,
      namespace,
      tag,
      owner,
      hasData: data.flag !== OFFSET_NO_DATA,
      ...(data.flag === OFFSET_SET ? { dataOffset: data.value } : {}),
      copy: (copyStmt ?? "").startsWith("COPY "),
    });
  }
}
