import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ensureError } from "../../src/lib/errors.js";
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from "./host.js";

/**
 * The front end Azure puts before a function app's instances, reduced to what the local hosts need:
 * each request goes to the next live instance in turn (round robin). An instance that refuses the connection
 * (killed, restarting) is skipped and the request goes to the next one, as the front end stops routing to a
 * dead instance; one that dies after taking the request answers 502, and the caller retries (Event Grid does).
 */
export interface Balancer {
  readonly url: string;
  readonly port: number;
  /** Requests forwarded to each target so far, by target URL. */
  readonly forwarded: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export interface StartBalancerOptions {
  port?: number;
  hostname?: string;
  /** The instances to route to, asked on every request (instances come and go). */
  targets: () => readonly string[];
  maxRequestBodyBytes?: number;
}

export async function startBalancer(options: StartBalancerOptions): Promise<Balancer> {
  const maxBody = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  const forwarded = new Map<string, number>();
  let next = 0;
  const server = createServer((req, res) => {
    void route(req, res).catch((e: unknown) => {
      if (!res.headersSent) plain(res, 502, `The local front end failed: ${ensureError(e).message}`);
      else res.destroy();
    });
  });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readAll(req, maxBody + 1);
    if (body.length > maxBody) {
      plain(res, 413, `The request body is over ${maxBody} bytes.`);
      return;
    }
    const targets = options.targets();
    if (targets.length === 0) {
      plain(res, 503, "No local host instance is running: start one (restart()) and retry.");
      return;
    }
    const start = next++;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(start + i) % targets.length] as string;
      const outcome = await forward(target, req, body, res);
      if (outcome === "refused") continue;
      forwarded.set(target, (forwarded.get(target) ?? 0) + 1);
      return;
    }
    plain(res, 503, "Every local host instance refused the connection: they are restarting; retry.");
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.hostname ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.hostname ?? "127.0.0.1"}:${port}`,
    port,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** "refused" when the target never took the connection (safe to send elsewhere); "done" otherwise. */
function forward(
  target: string,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
): Promise<"refused" | "done"> {
  return new Promise((resolve) => {
    const url = new URL(req.url ?? "/", target);
    const headers = { ...req.headers, host: url.host, "content-length": String(body.length) };
    delete headers["transfer-encoding"];
    delete headers.connection;
    const upstream = request(url, { method: req.method, headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.once("end", () => resolve("done"));
      answer.once("error", () => {
        res.destroy();
        resolve("done");
      });
    });
    upstream.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNREFUSED") return resolve("refused");
      if (!res.headersSent)
        plain(
          res,
          502,
          `The local host instance ${target} failed mid-request (${e.code ?? e.message}): retry.`,
        );
      else res.destroy();
      resolve("done");
    });
    upstream.end(body);
  });
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(`${text}\n`);
}

async function readAll(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
