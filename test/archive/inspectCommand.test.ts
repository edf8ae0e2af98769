import { createServer, type Server } from "node:http";
import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliCaptured } from "../support/cli.js";
import { copyText, writeArchive } from "./writer.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

/** The CLI needs no settings for `inspect`: it calls no Azure service. */
async function run(...argv: string[]) {
  return runCliCaptured(argv, { env: {} });
}

describe("CLI: inspect <file | blob URL>", () => {
  let dir: string;
  let server: Server;
  let base: string;
  const requests: string[] = [];
  let blob: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pgflex-inspect-"));
    // Over 1 MiB, so the header level has a budget to keep to.
    blob = writeArchive({
      compression: "none",
      chunkSize: 64 * 1024,
      entries: [
        { dumpId: 1, desc: "TABLE", tag: "wide", namespace: "public" },
        {
          dumpId: 2,
          desc: "TABLE DATA",
          tag: "wide",
          namespace: "public",
          data: `${"w".repeat(100_000)}\n`.repeat(30) + "\\.\n\n\n",
        },
        { dumpId: 3, desc: "TABLE DATA", tag: "small", namespace: "public", data: copyText(5) },
      ],
    });
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.headers.range ?? ""}`);
      if (req.url !== "/c/db.dump?sig=x") return void res.writeHead(403).end();
      const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
      const start = match ? Number(match[1]) : 0;
      const end = match?.[2] ? Number(match[2]) : blob.length - 1;
      res.writeHead(match ? 206 : 200, {
        "content-length": String(req.method === "HEAD" ? blob.length : end - start + 1),
      });
      res.end(req.method === "HEAD" ? undefined : blob.subarray(start, end + 1));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the header, the tables and their rows of an archive real pg_dump made", async () => {
    const res = await run("inspect", join(fixtures, "non-ascii.dump"));
    expect(res.code).toBe(0);
    const lines = res.stdout.split("\n");
    expect(lines[0]).toMatch(/^Archive {3}.*non-ascii\.dump \(3\.3 KiB; custom format 1\.14\.0, gzip\)$/);
    expect(lines[1]).toMatch(
      /^Database {2}fixture_2, dumped 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d by pg_dump 15\.\d+/,
    );
    expect(lines.slice(4, 9)).toEqual([
      "SCHEMA   TABLE       ROWS  BYTES  NOTE",
      "-------  ----------  ----  -----  ----",
      "données  Ünïcødé 表   321   6209",
      "public   with space  2     22",
      "2 tables, 323 rows, 6.1 KiB of table data",
    ]);
  });

  it("prints JSON with --json, and only the header and TOC at --level header", async () => {
    const res = await run("--json", "inspect", "--level", "header", join(fixtures, "empty-tables.dump"));
    expect(res.code).toBe(0);
    const parsed = JSON.parse(res.stdout) as {
      level: string;
      tables: { name: string; rows?: number }[];
      totals?: unknown;
    };
    expect(parsed.level).toBe("header");
    expect(parsed.tables.map((t) => t.name)).toEqual(["c", "a", "b"]);
    expect(parsed.totals).toBeUndefined();
  });

  it("fails a truncated archive with exit code 4, the offset, the reason and the fix", async () => {
    const file = join(dir, "cut.dump");
    await writeFile(file, (await readFile(join(fixtures, "uncompressed.dump"))).subarray(0, 1000));
    const res = await run("inspect", file);
    expect(res.code).toBe(4);
    expect(res.stderr).toBe(
      "Archive truncated at byte 991: TOC entry 5 of 8: drop statement: length 25 exceeds the 4 byte(s) that remain\n" +
        "Fix: The file is shorter than its own structure says: copy or download it again, or take a new backup.\n",
    );
    const json = await run("--json", "inspect", file);
    expect(JSON.parse(json.stdout)).toEqual({
      failed: {
        kind: "truncated",
        offset: 991,
        reason: "TOC entry 5 of 8: drop statement: length 25 exceeds the 4 byte(s) that remain",
        fix: "The file is shorter than its own structure says: copy or download it again, or take a new backup.",
      },
    });
  });

  it("names a missing file as a wrong command line (exit code 2) with the fix", async () => {
    const res = await run("inspect", join(dir, "absent.dump"));
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      `Cannot read ${join(dir, "absent.dump")}: no such file\n` +
        "Fix: Give the path of a pg_dump custom-format archive (a restore's <guid>_database_<db>.sql), or a blob URL with a SAS.\n",
    );
  });

  it("reads a blob's header with range reads of at most 1 MiB, and all of it at --level rows", async () => {
    requests.length = 0;
    const header = await run("--json", "inspect", "--level", "header", `${base}/c/db.dump?sig=x`);
    expect(header.code).toBe(0);
    const ranges = requests.filter((r) => r.startsWith("GET"));
    const lastByte = Math.max(...ranges.map((r) => Number(/-(\d+)$/.exec(r)?.[1])));
    expect(lastByte).toBeLessThan(1024 * 1024);
    expect(blob.length).toBeGreaterThan(2 * 1024 * 1024);

    const rows = await run("--json", "inspect", `${base}/c/db.dump?sig=x`);
    const parsed = JSON.parse(rows.stdout) as { tables: { name: string; rows?: number }[] };
    expect(parsed.tables.map((t) => [t.name, t.rows])).toEqual([
      ["small", 5],
      ["wide", 30],
    ]);
  });

  it("says a blob refused without a SAS needs one (exit code 3)", async () => {
    const res = await run("inspect", `${base}/c/other.dump`);
    expect(res.code).toBe(3);
    expect(res.stderr).toBe(
      `The blob ${base}/c/other.dump answered HTTP 403\n` +
        "Fix: Give a URL with a SAS that allows read (az storage blob generate-sas --permissions r --full-uri ...).\n",
    );
  });
});
