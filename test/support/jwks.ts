import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { useStarted } from "./suite.js";

/** Serves `jwks` on loopback for one suite; read `url` (ending in `path`) inside tests or later hooks. */
export function useJwksServer(jwks: unknown, path = "/keys"): { readonly url: string } {
  return useStarted(
    async () => {
      const server = createServer((_req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(jwks));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    },
    (served) => served.close(),
    "The JWKS server is not running: use its url inside tests or hooks, after beforeAll.",
  );
}
