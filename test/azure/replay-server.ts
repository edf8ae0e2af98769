import { createServer } from "node:https";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";

/** One entry of `azure-reference/recordings/*.json`. */
export interface RecordedEntry {
  method: string;
  host?: string;
  path: string;
  query: Record<string, string>;
  requestBody: unknown;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: unknown;
  repeat?: number;
}

export interface ReplayServer {
  url: string;
  caCert: string;
  /** Requests seen, in order: method, path and the parsed body. */
  readonly seen: Array<{ method: string; path: string; apiVersion: string | null; body: unknown }>;
  /** Requests that matched no recorded entry. */
  readonly unmatched: string[];
  close(): Promise<void>;
}

/**
 * Serves recorded ARM answers verbatim: requests are matched by method and path (case-insensitive, query
 * ignored) and each key answers its recorded entries in order, repeating the last one once they run out —
 * so a client may poll fewer or more times than the recorded client did.
 */
export async function startReplayServer(entries: readonly RecordedEntry[]): Promise<ReplayServer> {
  const queues = new Map<string, RecordedEntry[]>();
  for (const e of entries) {
    if (e.host) continue; // Microsoft Graph calls are not ARM
    const key = `${e.method} ${e.path.toLowerCase()}`;
    const q = queues.get(key) ?? [];
    q.push(e);
    queues.set(key, q);
  }
  const seen: ReplayServer["seen"] = [];
  const unmatched: string[] = [];
  const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    keySize: 2048,
    extensions: [{ name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] }],
  } as Parameters<typeof generate>[1]);
  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      const text = Buffer.concat(chunks).toString("utf8");
      seen.push({
        method: req.method ?? "",
        path: url.pathname,
        apiVersion: url.searchParams.get("api-version"),
        body: text ? (JSON.parse(text) as unknown) : undefined,
      });
      const key = `${req.method} ${decodeURIComponent(url.pathname).toLowerCase()}`;
      const q = queues.get(key);
      const entry = q && q.length > 1 ? q.shift() : q?.[0];
      if (!entry) {
        unmatched.push(key);
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "NotRecorded", message: `No recorded answer for ${key}` } }));
        return;
      }
      const body =
        entry.responseBody === "" || entry.responseBody === null ? "" : JSON.stringify(entry.responseBody);
      res.writeHead(entry.status, {
        ...entry.responseHeaders,
        ...(body ? { "content-type": "application/json" } : {}),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    caCert: pems.cert,
    seen,
    unmatched,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
