import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ArchiveError } from "../../src/lib/archive/errors.js";
import { HEADER_BUDGET_BYTES, inspectArchive } from "../../src/lib/archive/inspect.js";
import { bufferSource, type ArchiveSource } from "../../src/lib/archive/source.js";
import { copyText, writeArchive, type WrittenEntry } from "./writer.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

interface FixtureManifest {
  pgDumpVersion: string;
  archives: Record<
    string,
    { file: string; database: string; tables: { schema: string; name: string; rows: number }[] }
  >;
}
const manifest = JSON.parse(await readFile(join(fixtures, "manifest.json"), "utf8")) as FixtureManifest;
const fixture = (name: string): Promise<Buffer> => readFile(join(fixtures, `${name}.dump`));

/** A source that counts the bytes its reads and streams hand out. */
function counting(source: ArchiveSource): ArchiveSource & { bytesServed: number } {
  const counted = {
    size: source.size,
    bytesServed: 0,
    async read(offset: number, length: number) {
      const bytes = await source.read(offset, length);
      counted.bytesServed += bytes.length;
      return bytes;
    },
    async *stream(offset: number) {
      for await (const chunk of source.stream(offset)) {
        counted.bytesServed += chunk.length;
        yield chunk;
      }
    },
  };
  return counted;
}

async function failure(bytes: Buffer, level: "header" | "rows" = "rows"): Promise<ArchiveError> {
  const error: unknown = await inspectArchive(bufferSource(bytes), { level }).then(
    () => new Error("inspected without a failure"),
    (e: unknown) => e,
  );
  if (!(error instanceof ArchiveError)) throw error;
  return error;
}

const table = (dumpId: number, tag: string, rows: number): WrittenEntry[] => [
  { dumpId, desc: "TABLE", tag, namespace: "public", defn: `CREATE TABLE public.${tag} (id int);` },
  { dumpId: dumpId + 1000, desc: "TABLE DATA", tag, namespace: "public", data: copyText(rows) },
];

describe("inspecting archives real pg_dump made (test/archive/fixtures)", () => {
  it.each(Object.entries(manifest.archives))(
    "lists the tables pg_restore restored, with count(*) rows: %s",
    async (_name, archive) => {
      const inspection = await inspectArchive(
        bufferSource(await readFile(join(fixtures, archive.file)), 512),
      );
      expect(inspection.tables.map((t) => ({ schema: t.schema, name: t.name, rows: t.rows }))).toEqual(
        [...archive.tables].sort((a, b) => a.schema.localeCompare(b.schema) || a.name.localeCompare(b.name)),
      );
      expect(inspection.header).toMatchObject({
        version: "1.14.0",
        format: "custom",
        database: archive.database,
        pgDumpVersion: manifest.pgDumpVersion.replace(/^pg_dump \(PostgreSQL\) /, ""),
      });
    },
  );

  it("reads the header: version, sizes, compression, creation time, database and versions", async () => {
    const inspection = await inspectArchive(bufferSource(await fixture("uncompressed")), { level: "header" });
    expect(inspection.header).toEqual({
      version: "1.14.0",
      intSize: 4,
      offSize: 8,
      format: "custom",
      compression: "none",
      compressionLevel: 0,
      createdAt: expect.stringMatching(/^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d$/) as unknown as string,
      database: "fixture_3",
      serverVersion: manifest.pgDumpVersion.replace(/^pg_dump \(PostgreSQL\) /, ""),
      pgDumpVersion: manifest.pgDumpVersion.replace(/^pg_dump \(PostgreSQL\) /, ""),
    });
    expect(inspection.toc.byDescription).toMatchObject({ TABLE: 2, "TABLE DATA": 2, ENCODING: 1 });
    expect(inspection.tables.map((t) => [t.name, t.rows])).toEqual([
      ["items", undefined],
      ["none_here", undefined],
    ]);
  });

  it("counts large objects and their bytes", async () => {
    const inspection = await inspectArchive(bufferSource(await fixture("bytea")));
    expect(inspection.largeObjects).toEqual({ count: 2, bytes: 5018 });
  });

  it("reads a gzip -9 archive and one pg_dump wrote to a pipe (no data offsets in its TOC)", async () => {
    for (const name of ["gzip-9", "stdout"]) {
      const inspection = await inspectArchive(bufferSource(await fixture(name), 100));
      expect(inspection.totals?.rows).toBe(manifest.archives[name]!.tables.reduce((n, t) => n + t.rows, 0));
    }
  });
});

describe("archive versions and compressions this machine's pg_dump does not write", () => {
  it("reads 1.15 (PostgreSQL 16: compression algorithm byte) and 1.16 (17+: relkind in the TOC)", async () => {
    for (const minor of [15, 16] as const) {
      const bytes = writeArchive({ minor, entries: [...table(10, "orders", 42), ...table(11, "lines", 0)] });
      const inspection = await inspectArchive(bufferSource(bytes));
      expect(inspection.header.version).toBe(`1.${minor}.0`);
      expect(inspection.header.compression).toBe("gzip");
      expect(inspection.header).not.toHaveProperty("compressionLevel");
      expect(inspection.tables.map((t) => [t.name, t.rows])).toEqual([
        ["lines", 0],
        ["orders", 42],
      ]);
    }
  });

  it("checks lz4 and zstd archives' framing and reports their rows as not inspected", async () => {
    for (const compression of ["lz4", "zstd"] as const) {
      const bytes = writeArchive({ minor: 16, compression, entries: table(10, "orders", 42) });
      const inspection = await inspectArchive(bufferSource(bytes));
      expect(inspection.header.compression).toBe(compression);
      expect(inspection.dataNotInspected).toBe(
        `${compression} data is not inflated by this inspector: its framing was checked, rows were not counted`,
      );
      expect(inspection.tables[0]).toMatchObject({
        name: "orders",
        note: `${compression} data not inspected`,
      });
      expect(inspection.tables[0]).not.toHaveProperty("rows");
    }
  });

  it("leaves rows uncounted for INSERT-style data, naming why", async () => {
    const bytes = writeArchive({
      entries: [
        {
          dumpId: 1001,
          desc: "TABLE DATA",
          tag: "t",
          namespace: "public",
          copy: false,
          data: "INSERT INTO t VALUES (1);\n",
        },
      ],
    });
    const [t] = (await inspectArchive(bufferSource(bytes))).tables;
    expect(t).toEqual({
      schema: "public",
      name: "t",
      owner: "postgres",
      storedBytes: expect.any(Number) as unknown as number,
      bytes: 26,
      note: "data as INSERT statements: rows not counted",
    });
  });
});

describe("the header level", () => {
  it("reads at most 1 MiB, through range reads, of an archive many times larger", async () => {
    const big = "x".repeat(200_000);
    const entries = Array.from({ length: 20 }, (_, i) => table(10 + i, `t${i}`, 0)).flat();
    entries.push({
      dumpId: 5000,
      desc: "TABLE DATA",
      tag: "huge",
      namespace: "public",
      data: `${big}\n`.repeat(40) + "\\.\n",
    });
    const bytes = writeArchive({ compression: "none", entries, chunkSize: 64 * 1024 });
    expect(bytes.length).toBeGreaterThan(4 * HEADER_BUDGET_BYTES);
    const source = counting(bufferSource(bytes));
    const inspection = await inspectArchive(source, { level: "header" });
    expect(source.bytesServed).toBeLessThanOrEqual(HEADER_BUDGET_BYTES);
    expect(inspection.bytesRead).toBe(source.bytesServed);
    expect(inspection.toc).toMatchObject({ entries: 41, read: 41 });
  });

  it("reports a TOC larger than 1 MiB as partly read, not as corrupt", async () => {
    const entries = Array.from({ length: 40 }, (_, i) => ({
      dumpId: i + 1,
      desc: "FUNCTION",
      tag: `f${i}`,
      defn: "-".repeat(50_000),
    }));
    const inspection = await inspectArchive(bufferSource(writeArchive({ entries })), { level: "header" });
    expect(inspection.toc.entries).toBe(40);
    expect(inspection.toc.read).toBe(20);
    expect(inspection.bytesRead).toBe(HEADER_BUDGET_BYTES);
  });
});

describe("a truncated, corrupt or foreign file fails with the offset and the reason", () => {
  it("names plain SQL and a file that is no archive", async () => {
    const plain = await failure(Buffer.from("--\n-- PostgreSQL database dump\n--\n"));
    expect([plain.kind, plain.offset, plain.message]).toEqual([
      "unsupported",
      0,
      "Unsupported archive at byte 0: not a custom-format archive: it looks like plain SQL (pg_dump -Fp or pg_dumpall)",
    ]);
    expect(plain.fix).toBe(
      "Plain SQL needs no inspector (read it, or load it with psql); dump with pg_dump -Fc for a custom-format archive.",
    );
    expect((await failure(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]))).reason).toBe(
      "not a pg_dump custom-format archive: no PGDMP magic",
    );
  });

  it("refuses an archive version it does not know", async () => {
    const bytes = writeArchive({ entries: [] });
    bytes[6] = 17;
    expect((await failure(bytes)).message).toBe(
      "Unsupported archive at byte 5: archive version 1.17.0: this inspector reads 1.11 to 1.16; PostgreSQL 17 and 18 write 1.16",
    );
  });

  it("names the field and offset where the archive ends early", async () => {
    const whole = await fixture("uncompressed");
    const cut = await failure(whole.subarray(0, 200));
    expect(cut.kind).toBe("truncated");
    expect(cut.offset).toBeLessThanOrEqual(200);
    expect(cut.message).toBe(
      "Archive truncated at byte 135: TOC entry count 8 cannot fit in the 60 byte(s) that remain",
    );
    const lastBlockCut = await failure(whole.subarray(0, whole.length - 5));
    expect(lastBlockCut.message).toMatch(
      /^Archive truncated at byte \d+: TABLE DATA public\.none_here \(dump id \d+\): chunk 2 length needs 5 byte\(s\) but the archive ends at byte 4182$/,
    );
  });

  it("notices a block missing at the end even when the cut falls between blocks", async () => {
    const bytes = writeArchive({ entries: [...table(10, "a", 3), ...table(11, "b", 2)] });
    const withoutLast = bytes.subarray(0, bytes.length - 32);
    const error = await failure(withoutLast);
    expect(error.kind).toBe("truncated");
  });

  it("refuses a length beyond the bytes that remain without reading or allocating it", async () => {
    const bytes = writeArchive({ compression: "none", entries: table(10, "a", 3) });
    const at = bytes.indexOf(Buffer.from("CREATE TABLE public.a (id int);")) - 5;
    bytes.writeUInt32LE(0x7fffffff, at + 1);
    const error = await failure(bytes);
    expect([error.kind, error.offset]).toEqual(["corrupt", at]);
    expect(error.reason).toBe(
      "TOC entry 1 of 2: definition: length 2147483647 is implausible (over 67108864 bytes)",
    );
  });

  it("fails gzip data that does not inflate, at the chunk", async () => {
    const bytes = writeArchive({ entries: table(10, "a", 300), chunkSize: 50 });
    const block = bytes.lastIndexOf(Buffer.from([1, 0, 0xf2, 3, 0, 0]));
    bytes[block + 6 + 5] = 0x00; // the zlib header (0x78), first byte of chunk 1
    const error = await failure(bytes);
    expect([error.kind, error.offset]).toEqual(["corrupt", block + 6]);
    expect(error.reason).toBe(
      "TABLE DATA public.a (dump id 1010): gzip data does not inflate (incorrect header check)",
    );
  });

  it("fails COPY data without its end marker", async () => {
    const bytes = writeArchive({
      entries: [{ dumpId: 1, desc: "TABLE DATA", tag: "a", namespace: "public", data: "1\n2\n" }],
    });
    expect((await failure(bytes)).reason).toBe(
      "TABLE DATA public.a (dump id 1): the COPY data has no \\. end marker",
    );
  });
});
