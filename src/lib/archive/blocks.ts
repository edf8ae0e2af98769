import { createInflate } from "node:zlib";
import type { ArchiveCursor } from "./cursor.js";
import { ArchiveError } from "./errors.js";
import type { ArchiveCompression } from "./header.js";

const BATCH_BYTES = 64 * 1024;

/**
 * Inflates one zlib stream (a data block or a large object) as its chunks arrive, handing the output to
 * `sink` as zlib produces it; waits when zlib's input buffer is full, so memory stays bounded.
 */
class Inflater {
  private readonly zlib = createInflate({ chunkSize: BATCH_BYTES });
  /** Input gathered into one zlib write (pg_dump's chunks are 4 KiB; each write is a round trip to zlib's thread). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly finished: Promise<void>;
  /** Where each chunk's input starts in the zlib stream and in the archive, from the oldest zlib may still hold. */
  private readonly marks: { input: number; offset: number }[] = [];
  private first = 0;
  private input = 0;

  constructor(
    sink: (slice: Buffer) => void,
    private readonly label: string,
  ) {
    this.zlib.on("data", sink);
    this.zlib.on("drain", () => this.resume());
    this.finished = new Promise((resolve) => {
      this.zlib.once("end", () => {
        this.ended = true;
        resolve();
      });
      this.zlib.once("error", (error) => {
        this.failure = error;
        this.resume();
        resolve();
      });
    });
  }

  private resume(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  write(slice: Buffer, chunkOffset: number): Promise<void> | void {
    this.check();
    if (this.marks[this.marks.length - 1]?.offset !== chunkOffset) {
      this.marks.push({ input: this.input, offset: chunkOffset });
      const consumed = this.zlib.bytesWritten;
      while (this.first + 1 < this.marks.length && this.marks[this.first + 1]!.input <= consumed)
        this.first++;
      if (this.first > 1024) {
        this.marks.splice(0, this.first);
        this.first = 0;
      }
    }
    this.input += slice.length;
    this.pending.push(slice);
    this.pendingBytes += slice.length;
    if (this.pendingBytes < BATCH_BYTES) return;
    return this.flush();
  }

  private flush(): Promise<void> | void {
    const batch =
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.zlib.write(batch)) return;
    return new Promise<void>((resolve) => (this.wake = resolve)).then(() => this.check());
  }

  async end(): Promise<void> {
    this.check();
    if (this.pendingBytes > 0) await this.flush();
    this.check();
    this.zlib.end();
    await this.finished;
    this.check();
    if (!this.ended) throw this.error("the gzip stream did not finish");
  }

  private check(): void {
    if (this.failure) throw this.error(this.failure.message);
  }

  /** The chunk holding the first byte zlib had not consumed when it failed. */
  private error(message: string): ArchiveError {
    const consumed = this.zlib.bytesWritten;
    let mark = this.marks[this.first];
    for (let i = this.first; i < this.marks.length && this.marks[i]!.input <= consumed; i++)
      mark = this.marks[i];
    return new ArchiveError(
      "corrupt",
      mark?.offset ?? 0,
      `${this.label}: gzip data does not inflate (${message})`,
    );
  }
}

export interface ChunkTotals {
  /** Bytes of the chunks as stored. */
  stored: number;
  /** Bytes after inflating (equal to `stored` without compression; 0 when not inspected). */
  bytes: number;
}

/**
 * Reads one stream of length-prefixed chunks ending with a zero length: a data block's or a large object's.
 * `sink` gets the inflated bytes; lz4 and zstd chunks are checked for framing and skipped.
 */
export async function readChunks(
  cursor: ArchiveCursor,
  compression: ArchiveCompression,
  label: string,
  sink: (slice: Buffer) => void,
): Promise<ChunkTotals> {
  const totals: ChunkTotals = { stored: 0, bytes: 0 };
  const count = (slice: Buffer): void => {
    totals.bytes += slice.length;
    sink(slice);
  };
  const inflater = compression === "gzip" ? new Inflater(count, label) : undefined;
  for (let n = 1; ; n++) {
    const at = cursor.offset;
    const length = await cursor.int(`${label}: chunk ${n} length`);
    if (length === 0) break;
    const left = cursor.archiveEnd - cursor.offset;
    if (length < 0)
      throw new ArchiveError("corrupt", at, `${label}: chunk ${n} length ${length} is negative`);
    if (length > left)
      throw new ArchiveError(
        "truncated",
        at,
        `${label}: chunk ${n} length ${length} exceeds the ${left} byte(s) that remain`,
      );
    totals.stored += length;
    const what = `${label}: chunk ${n}`;
    if (inflater) await cursor.pipe(length, what, (slice) => inflater.write(slice, at));
    else if (compression === "none") await cursor.pipe(length, what, count);
    else await cursor.pipe(length, what, () => undefined);
  }
  await inflater?.end();
  return totals;
}
