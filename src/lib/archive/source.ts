/**
 * Where archive bytes come from. A file or a blob: both know their size, serve ranges (the `header` level
 * reads a bounded prefix this way) and stream from an offset (the `rows` level reads everything once).
 */
export interface ArchiveSource {
  /** Total size in bytes, as the file system or the blob's Content-Length says. */
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer only at the end). */
  read(offset: number, length: number): Promise<Buffer>;
  /** The bytes from `offset` to the end, in chunks of the source's choosing. */
  stream(offset: number): AsyncIterable<Buffer>;
}

/** An archive already in memory (tests, small files). */
export function bufferSource(bytes: Buffer, chunkSize = 64 * 1024): ArchiveSource {
  return {
    size: bytes.length,
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)),
    async *stream(offset) {
      for (let at = offset; at < bytes.length; at += chunkSize) yield bytes.subarray(at, at + chunkSize);
    },
  };
}
