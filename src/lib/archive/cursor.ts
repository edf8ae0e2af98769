import { ArchiveError } from "./errors.js";

/** The longest string field the inspector accepts (a TOC definition); longer ones are treated as corrupt. */
export const MAX_STRING_BYTES = 64 * 1024 * 1024;

/**
 * Reads an archive front to back from a chunk stream, knowing where it ends. Every length is checked against
 * the bytes that remain before anything is read or buffered, and every failure names the offset of the field.
 * Fields are small and buffered; data is handed out as slices of the chunks it arrived in, never joined.
 */
export class ArchiveCursor {
  private buffer: Buffer = Buffer.alloc(0);
  private position = 0;
  /** Absolute offset of buffer[0]. */
  private base: number;
  private readonly chunks: AsyncIterator<Buffer>;
  intSize = 4;
  offSize = 8;

  /** Where this read must stop: the archive's end, or the end of a read budget before it. */
  readonly end: number;

  constructor(
    chunks: AsyncIterable<Buffer>,
    start: number,
    /** The archive's size. */
    readonly archiveEnd: number,
    /** A read budget: reading past `budget.end` (before the archive's end) throws `budget.error`. */
    private readonly budget?: { end: number; error: (offset: number) => Error },
  ) {
    this.base = start;
    this.end = Math.min(archiveEnd, budget?.end ?? archiveEnd);
    this.chunks = chunks[Symbol.asyncIterator]();
  }

  get offset(): number {
    return this.base + this.position;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** True when `n` bytes are already buffered (callers skip the await then). */
  has(n: number): boolean {
    return this.buffer.length - this.position >= n;
  }

  atEnd(): boolean {
    return this.offset >= this.end;
  }

  /** Makes `n` bytes available, or fails naming `what` was being read at the current offset. */
  async fill(n: number, what: string): Promise<void> {
    if (this.has(n)) return;
    if (n > this.remaining) throw this.short(n, what);
    const rest = this.buffer.subarray(this.position);
    const parts = rest.length > 0 ? [rest] : [];
    let have = rest.length;
    while (have < n) {
      const next = await this.chunks.next();
      if (next.done) throw this.short(n, what, this.offset + have);
      parts.push(next.value);
      have += next.value.length;
    }
    this.base += this.position;
    this.position = 0;
    this.buffer = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
  }

  private short(n: number, what: string, endsAt = this.archiveEnd): Error {
    if (this.budget && this.offset + n <= this.archiveEnd && endsAt === this.archiveEnd)
      return this.budget.error(this.offset);
    return new ArchiveError(
      "truncated",
      this.offset,
      `${what} needs ${n} byte(s) but the archive ends at byte ${endsAt}`,
    );
  }

  async byte(what: string): Promise<number> {
    if (!this.has(1)) await this.fill(1, what);
    return this.buffer[this.position++]!;
  }

  async bytes(n: number, what: string): Promise<Buffer> {
    if (!this.has(n)) await this.fill(n, what);
    const out = this.buffer.subarray(this.position, this.position + n);
    this.position += n;
    return out;
  }

  /** pg_dump's integer: a sign byte (0 or 1), then `intSize` bytes, least significant first. */
  async int(what: string): Promise<number> {
    const at = this.offset;
    const size = this.intSize + 1;
    if (!this.has(size)) await this.fill(size, what);
    const sign = this.buffer[this.position]!;
    if (sign > 1) throw new ArchiveError("corrupt", at, `${what}: sign byte is ${sign}, expected 0 or 1`);
    let value = 0;
    for (let i = this.intSize; i >= 1; i--) value = value * 256 + this.buffer[this.position + i]!;
    this.position += size;
    return sign ? -value : value;
  }

  /** pg_dump's string: an integer length (-1 for none), then that many bytes. */
  async str(what: string): Promise<string | null> {
    const at = this.offset;
    const length = await this.int(`${what} (length)`);
    if (length === -1) return null;
    if (length < 0) throw new ArchiveError("corrupt", at, `${what}: length ${length} is negative`);
    const left = this.archiveEnd - this.offset;
    if (length > MAX_STRING_BYTES)
      throw new ArchiveError(
        "corrupt",
        at,
        `${what}: length ${length} is implausible (over ${MAX_STRING_BYTES} bytes)`,
      );
    if (length > left)
      throw new ArchiveError(
        "truncated",
        at,
        `${what}: length ${length} exceeds the ${left} byte(s) that remain`,
      );
    return (await this.bytes(length, what)).toString("utf8");
  }

  /** A file offset as the custom format's TOC stores it: a flag byte, then `offSize` bytes. */
  async offsetField(what: string): Promise<{ flag: number; value: number }> {
    const flag = await this.byte(`${what} (flag)`);
    const raw = await this.bytes(this.offSize, what);
    let value = 0;
    for (let i = this.offSize - 1; i >= 0; i--) value = value * 256 + raw[i]!;
    return { flag, value };
  }

  /**
   * Hands `n` bytes to `sink` in the slices they arrived in (never joined), for data that must not be held
   * whole. `sink` may return a promise to apply back-pressure.
   */
  async pipe(n: number, what: string, sink: (slice: Buffer) => void | Promise<void>): Promise<void> {
    if (n > this.remaining) throw this.short(n, what);
    let left = n;
    while (left > 0) {
      if (!this.has(1)) await this.fill(1, what);
      const take = Math.min(left, this.buffer.length - this.position);
      const slice = this.buffer.subarray(this.position, this.position + take);
      this.position += take;
      left -= take;
      const wait = sink(slice);
      if (wait) await wait;
    }
  }
}
