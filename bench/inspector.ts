import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { findPostgresBinaries, run, startLocalPostgres } from "../dev/emulator/pg/local.js";
import { HEADER_BUDGET_BYTES, inspectArchive } from "../src/lib/archive/inspect.js";
import type { ArchiveSource } from "../src/lib/archive/source.js";
import { repoRoot } from "./lib/cli.js";
import { compared, notAvailable, round, type Runnable, type RunSize } from "./lib/types.js";

/**
 * The archive inspector (src/lib/archive) on a real gzip pg_dump archive (≥ 200 MB at full size), side by side
 * with `pg_restore -f /dev/null` on the same file: throughput of both (archive bytes per second), their ratio,
 * the inspector's resident memory (its own Node process, on src transpiled as deployed), and the bytes the
 * `header` level reads. The archive is made once with real pg_dump and kept in node_modules/.cache.
 */

const CACHE = join(repoRoot, "node_modules", ".cache", "pgflex-bench", "inspector");
/** Bump when the generated database changes, so a cached archive of the old shape is not reused. */
const SHAPE = "v1";
const ROWS: Record<RunSize, { events: number; items: number }> = {
  tiny: { events: 20_000, items: 40_000 },
  // ≈ 80 bytes of gzip per event row and ≈ 5 per item row (as measured at tiny size): ≈ 240 MB.
  full: { events: 2_800_000, items: 3_000_000 },
};

const MIB = 1024 * 1024;

/** Makes (once) the benchmark's archive with real pg_dump -Fc (gzip, pg_dump's default level). */
async function archiveFor(size: RunSize, log: (line: string) => void): Promise<string> {
  const binaries = findPostgresBinaries()!;
  const version = /\d+(\.\d+)?/.exec(binaries.pgDumpVersion)?.[0] ?? "unknown";
  const file = join(CACHE, `${SHAPE}-${size}-pg${version}.dump`);
  if (existsSync(file)) return file;
  await mkdir(CACHE, { recursive: true });
  for (const stale of await readdir(CACHE))
    if (stale.startsWith(`${SHAPE}-${size}-`)) log(`replacing ${stale}`);
  const rows = ROWS[size];
  log(
    `making the ${size} archive with ${binaries.pgDumpVersion}: ${rows.events} event rows, ${rows.items} item rows`,
  );
  const pg = await startLocalPostgres(binaries);
  try {
    await pg.sql("postgres", "CREATE DATABASE bench;");
    await pg.sql(
      "bench",
      [
        "CREATE TABLE events (id bigint, kind text, payload text, at timestamptz);",
        `INSERT INTO events SELECT g, 'kind-' || (g % 37), md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) || md5((g * 31)::text), '2026-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, ${rows.events}) g;`,
        "CREATE TABLE items (id int, qty int);",
        `INSERT INTO items SELECT g, g % 100 FROM generate_series(1, ${rows.items}) g;`,
        "CREATE TABLE empty (id int);",
      ].join("\n"),
    );
    const partial = `${file}.tmp`;
    await run(
      binaries.pgDump,
      ["-h", "127.0.0.1", "-p", String(pg.port), "-U", "postgres", "-Fc", "-d", "bench", "-f", partial],
      { timeoutInMs: 3_600_000 },
    );
    await rename(partial, file);
  } finally {
    await pg.stop();
  }
  return file;
}

/** src/lib/archive transpiled to plain JS (as deployed), so the child's memory is the inspector's, not tsx's. */
async function buildInspector(): Promise<string> {
  const { build } = await import("esbuild");
  const out = join(CACHE, "lib");
  const dir = join(repoRoot, "src", "lib", "archive");
  await build({
    entryPoints: (await readdir(dir)).filter((f) => f.endsWith(".ts")).map((f) => join(dir, f)),
    outdir: out,
    format: "esm",
    platform: "node",
    target: "node20",
    bundle: false,
    logLevel: "silent",
  });
  return join(out, "inspect.js");
}

const childScript = (module: string, file: string): string => `
import { createReadStream, statSync } from "node:fs";
const { inspectArchive } = await import(${JSON.stringify(module)});
const rss0 = process.memoryUsage().rss;
const size = statSync(${JSON.stringify(file)}).size;
const source = { size, read() { throw new Error("rows level streams"); },
  stream: (start) => createReadStream(${JSON.stringify(file)}, { start, highWaterMark: 256 * 1024 }) };
let peak = rss0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const t0 = performance.now();
const c0 = process.cpuUsage();
const inspection = await inspectArchive(source, { level: "rows" });
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
process.stdout.write("@@" + JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rss0, peak, rows: inspection.totals.rows, bytes: inspection.totals.bytes }) + "\\n");
`;

function timed(
  file: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, {
      cwd: repoRoot,
      env: env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve({ ms: performance.now() - started, stdout })
        : reject(new Error(`${file} exited ${code}: ${stderr.trim()}`)),
    );
  });
}

export const inspector: Runnable = {
  name: "inspector",
  title:
    "Archive inspector: rows of a real gzip pg_dump archive vs pg_restore -f /dev/null; memory; header bytes",
  async run({ size, log }) {
    const binaries = findPostgresBinaries();
    if (!binaries?.pgRestore)
      return notAvailable("PostgreSQL (initdb, postgres, psql, pg_dump, pg_restore) is not installed here");
    const file = await archiveFor(size, log);
    const archiveBytes = (await stat(file)).size;
    const module = await buildInspector();
    log(`archive ${round(archiveBytes / MIB)} MiB; inspecting, then pg_restore -f /dev/null`);

    const child = await timed(process.execPath, ["--input-type=module", "-e", childScript(module, file)], {
      ...process.env,
      NODE_OPTIONS: "",
    });
    const line = child.stdout.split("\n").find((l) => l.startsWith("@@"));
    if (!line) throw new Error("the inspector's process printed no result");
    const ours = JSON.parse(line.slice(2)) as {
      ms: number;
      cpuMs: number;
      rss0: number;
      peak: number;
      rows: number;
      bytes: number;
    };
    // `times` prints the shell's, then its children's, user and system CPU time: pg_restore's own.
    const restore = await timed("sh", ["-c", '"$0" -f /dev/null "$1" && times', binaries.pgRestore, file]);
    const [, children] = restore.stdout.trim().split("\n").slice(-2);
    const cpuSeconds = [...(children ?? "").matchAll(/(\d+)m([\d.]+)s/g)].reduce(
      (sum, m) => sum + Number(m[1]) * 60 + Number(m[2]),
      0,
    );
    const restoreCpuMs = cpuSeconds * 1000;

    let served = 0;
    const { open } = await import("node:fs/promises");
    const ranged: ArchiveSource = {
      size: archiveBytes,
      async read(offset, length) {
        const handle = await open(file, "r");
        try {
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          served += bytesRead;
          return buffer.subarray(0, bytesRead);
        } finally {
          await handle.close();
        }
      },
      stream: () => {
        throw new Error("the header level reads ranges");
      },
    };
    const header = await inspectArchive(ranged, { level: "header" });

    const throughput = (ms: number): number => round(archiveBytes / MIB / (ms / 1000), 1);
    const peakMib = round(ours.peak / MIB, 1);
    return {
      outcome: "ok",
      metrics: [
        compared(
          {
            name: "Rows inspection throughput",
            value: throughput(ours.ms),
            unit: "MiB/s of archive",
            baseline: throughput(restore.ms),
            baselineLabel: "pg_restore -f /dev/null, same file",
            target: "≥ 1× pg_restore",
          },
          { atLeast: 1 },
        ),
        compared(
          {
            name: "Rows inspection throughput per CPU second",
            value: throughput(ours.cpuMs),
            unit: "MiB/s of archive",
            baseline: throughput(restoreCpuMs),
            baselineLabel: "pg_restore -f /dev/null, same file",
            target: "≥ 1× pg_restore",
            note: "user + system CPU time: steadier than wall time on a shared machine",
          },
          { atLeast: 1 },
        ),
        {
          name: "Inspector resident memory (peak)",
          value: peakMib,
          unit: "MiB",
          target: "< 150 MiB",
          met: peakMib < 150,
          note: `the process before inspecting: ${round(ours.rss0 / MIB, 1)} MiB`,
        },
        {
          name: "Header inspection bytes read",
          value: served,
          unit: "bytes",
          target: `≤ ${HEADER_BUDGET_BYTES} (1 MiB)`,
          met: served <= HEADER_BUDGET_BYTES,
          note: `${header.toc.read} of ${header.toc.entries} TOC entries`,
        },
        {
          name: "Archive size",
          value: round(archiveBytes / MIB, 1),
          unit: "MiB",
          ...(size === "full" ? { target: "≥ 200 MB", met: archiveBytes >= 200e6 } : {}),
        },
        { name: "Rows counted", value: ours.rows, unit: "rows" },
      ],
      parameters: { size, archiveBytes, ...ROWS[size], pgDump: binaries.pgDumpVersion },
      notes: [
        `Inspector ${round(ours.ms / 1000, 2)} s (${round(ours.cpuMs / 1000, 2)} s CPU), pg_restore ${round(restore.ms / 1000, 2)} s (${round(restoreCpuMs / 1000, 2)} s CPU) on the same ${round(archiveBytes / MIB, 1)} MiB archive (${round(ours.bytes / MIB, 1)} MiB of table data inflated). Both are bound by zlib's inflate; the inspector also finds every row's end.`,
        "Throughput is archive (compressed) bytes per second of wall time, each tool in its own process; the inspector's memory is its process's peak resident set.",
      ],
    };
  },
};
