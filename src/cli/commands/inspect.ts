import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { Option, type Command } from "commander";
import { ArchiveError } from "../../lib/archive/errors.js";
import { inspectArchive, type ArchiveInspection, type InspectionLevel } from "../../lib/archive/inspect.js";
import type { ArchiveSource } from "../../lib/archive/source.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCodes } from "../exitCodes.js";
import { progress, table } from "../format.js";

/** A local file: its size from the file system, ranges with positioned reads, the rest as a read stream. */
async function fileSource(path: string): Promise<ArchiveSource> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      `Cannot read ${path}: ${error.code === "ENOENT" ? "no such file" : error.message}`,
      ExitCodes.usage,
      "Give the path of a pg_dump custom-format archive (a restore's <guid>_database_<db>.sql), or a blob URL with a SAS.",
    );
  });
  if (!info.isFile())
    throw new CliError(`${path} is not a file`, ExitCodes.usage, "Give the path of one archive file.");
  return {
    size: info.size,
    async read(offset, length) {
      const handle = await open(path, "r");
      try {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
    stream: (offset) => createReadStream(path, { start: offset, highWaterMark: 256 * 1024 }),
  };
}

/** A blob over HTTPS (a SAS URL, or a public or Azurite one): its size from HEAD, ranges with Range requests. */
async function blobSource(url: string): Promise<ArchiveSource> {
  const shown = url.split("?")[0];
  const refused = (status: number): CliError =>
    new CliError(
      `The blob ${shown} answered HTTP ${status}`,
      status === 404 ? ExitCodes.usage : ExitCodes.refused,
      status === 404
        ? "Check the URL (container and blob name)."
        : "Give a URL with a SAS that allows read (az storage blob generate-sas --permissions r --full-uri ...).",
    );
  const headers = { "x-ms-version": "2021-08-06" };
  const head = await fetch(url, { method: "HEAD", headers });
  if (!head.ok) throw refused(head.status);
  const size = Number(head.headers.get("content-length"));
  if (!Number.isSafeInteger(size))
    throw new CliError(`The blob ${shown} has no Content-Length`, ExitCodes.failed);
  const get = async (offset: number, end?: number): Promise<Response> => {
    const response = await fetch(url, { headers: { ...headers, range: `bytes=${offset}-${end ?? ""}` } });
    if (!response.ok) throw refused(response.status);
    return response;
  };
  return {
    size,
    read: async (offset, length) =>
      length === 0
        ? Buffer.alloc(0)
        : Buffer.from(await (await get(offset, offset + length - 1)).arrayBuffer()),
    async *stream(offset) {
      if (offset >= size) return;
      const body = (await get(offset)).body;
      if (!body) return;
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>)
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    },
  };
}

const kb = (bytes: number): string =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 ** 2
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

function describe(target: string, inspection: ArchiveInspection): string {
  const h = inspection.header;
  const lines = [
    `Archive   ${target} (${kb(inspection.archiveBytes)}; custom format ${h.version}, ${h.compression}${h.compressionLevel !== undefined && h.compressionLevel > 0 ? ` level ${h.compressionLevel}` : ""})`,
    `Database  ${h.database ?? "(none)"}, dumped ${h.createdAt} by pg_dump ${h.pgDumpVersion ?? "?"} from PostgreSQL ${h.serverVersion ?? "?"}`,
    `Contents  ${inspection.toc.entries} entries${inspection.toc.read < inspection.toc.entries ? ` (${inspection.toc.read} read within the first ${kb(inspection.bytesRead)}; --level rows reads them all)` : ""}: ${Object.entries(
      inspection.toc.byDescription,
    )
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([desc, n]) => `${desc} ${n}`)
      .join(", ")}`,
    "",
  ];
  const rows = inspection.level === "rows";
  lines.push(
    table(
      rows ? ["SCHEMA", "TABLE", "ROWS", "BYTES", "NOTE"] : ["SCHEMA", "TABLE", "OWNER"],
      inspection.tables.map((t) =>
        rows
          ? [
              t.schema ?? "",
              t.name,
              t.rows === undefined ? "" : String(t.rows),
              t.bytes === undefined ? "" : String(t.bytes),
              t.note ?? "",
            ]
          : [t.schema ?? "", t.name, t.owner ?? ""],
      ),
    ).trimEnd(),
  );
  if (inspection.totals)
    lines.push(
      `${inspection.tables.length} tables, ${inspection.totals.rows} rows, ${kb(inspection.totals.bytes)} of table data${
        inspection.largeObjects
          ? `; ${inspection.largeObjects.count} large objects (${kb(inspection.largeObjects.bytes)})`
          : ""
      }`,
    );
  else
    lines.push(
      `${inspection.tables.length} tables; rows not counted at --level header (read ${kb(inspection.bytesRead)})`,
    );
  if (inspection.dataNotInspected) lines.push(`Note: ${inspection.dataNotInspected}`);
  return `${lines.join("\n")}\n`;
}

export function addInspectCommand(program: Command, cli: CliContext): void {
  program
    .command("inspect")
    .description(
      "Open a pg_dump custom-format archive (a file, or a blob URL with a SAS) without a database: header, tables, rows.",
    )
    .argument("<archive>", "path of the archive, or an https:// blob URL")
    .addOption(
      new Option(
        "--level <level>",
        "header: header and TOC from the first 1 MiB; rows: every data block, rows counted",
      )
        .choices(["header", "rows"])
        .default("rows"),
    )
    .action(async (target: string, options: { level: InspectionLevel }) => {
      const source = /^https?:\/\//i.test(target) ? await blobSource(target) : await fileSource(target);
      const spin = progress(cli.io.stderr, `Inspecting ${target}`);
      try {
        const inspection = await inspectArchive(source, { level: options.level });
        cli.write(cli.json() ? `${JSON.stringify(inspection, null, 2)}\n` : describe(target, inspection));
      } catch (error) {
        if (!(error instanceof ArchiveError)) throw error;
        cli.setExitCode(ExitCodes.attention);
        if (cli.json())
          cli.write(
            `${JSON.stringify({ failed: { kind: error.kind, offset: error.offset, reason: error.reason, fix: error.fix } }, null, 2)}\n`,
          );
        else cli.io.stderr.write(`${error.message}\nFix: ${error.fix}\n`);
      } finally {
        spin.done();
      }
    });
}
