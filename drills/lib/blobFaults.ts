import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP proxy in front of Azurite's blob service that fails blob listings (`GET …?comp=list`) at seeded
 * rates with 500, 503 or a connection reset, and passes everything else through (the emulator's restore
 * writes its files through it untouched). Faults are off until `setRates`.
 */
export interface BlobFaultProxy {
  /** `http://127.0.0.1:<port>/devstoreaccount1`: the blob endpoint to advertise. */
  readonly endpoint: string;
  setRates(rates: { errorRate500?: number; errorRate503?: number; resetRate?: number }): void;
  readonly counts: { listings: number; faults: number };
  close(): Promise<void>;
}

export async function startBlobFaultProxy(
  target: { port: number; accountPath: string },
  random: () => number,
): Promise<BlobFaultProxy> {
  let rates = { errorRate500: 0, errorRate503: 0, resetRate: 0 };
  const counts = { listings: 0, faults: 0 };
  const server: Server = createServer((req, res) => {
    const isListing = req.method === "GET" && /[?&]comp=list(&|$)/.test(req.url ?? "");
    if (isListing) {
      counts.listings++;
      const draw = random();
      if (draw < rates.resetRate) {
        counts.faults++;
        req.socket.resetAndDestroy();
        return;
      }
      const status =
        draw < rates.resetRate + rates.errorRate503
          ? 503
          : draw < rates.resetRate + rates.errorRate503 + rates.errorRate500
            ? 500
            : 0;
      if (status) {
        counts.faults++;
        res.writeHead(status, { "content-type": "application/xml", "x-ms-error-code": "ServerBusy" });
        res.end(
          `<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>Injected by the drill.</Message></Error>`,
        );
        return;
      }
    }
    const upstream = request(
      { host: "127.0.0.1", port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}/${target.accountPath}`,
    setRates(next) {
      rates = { errorRate500: 0, errorRate503: 0, resetRate: 0, ...next };
    },
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
