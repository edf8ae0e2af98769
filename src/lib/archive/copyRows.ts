const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

/**
 * Counts the rows of COPY text as it streams by: one row per line, up to the `\.` line that ends the data.
 * Holds at most two bytes of a line between slices, whatever the row size.
 */
export class CopyRowCounter {
  rows = 0;
  /** The `\.` line was seen. */
  ended = false;
  /** Non-blank text after the `\.` line (pg_dump writes only blank lines there). */
  textAfterEnd = false;
  /** Bytes of the current line seen in earlier slices (only the first two are kept). */
  private lineLength = 0;
  private first = -1;
  private second = -1;

  push(slice: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = slice.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.carry(slice, start, slice.length);
        return;
      }
      this.endLine(slice, start, newline);
      start = newline + 1;
    }
  }

  private carry(slice: Buffer, from: number, to: number): void {
    for (let i = from; i < to && this.lineLength + (i - from) < 2; i++)
      if (this.lineLength + (i - from) === 0) this.first = slice[i]!;
      else this.second = slice[i]!;
    this.lineLength += to - from;
  }

  private endLine(slice: Buffer, from: number, to: number): void {
    const length = this.lineLength + (to - from);
    if (this.ended) {
      if (length > 0) this.textAfterEnd = true;
    } else if (length === 2) {
      const a = this.lineLength > 0 ? this.first : slice[from]!;
      const b = this.lineLength > 1 ? this.second : slice[from + 1 - this.lineLength]!;
      if (a === BACKSLASH && b === DOT) this.ended = true;
      else this.rows++;
    } else this.rows++;
    this.lineLength = 0;
  }

  /** Text after the last newline (a row without its newline). */
  get unterminated(): boolean {
    return this.lineLength > 0;
  }
}
