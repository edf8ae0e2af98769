import { createServer } from "node:net";

/** A port `npm start` needs is taken, most often by another `npm start`. */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  constructor(
    readonly port: number,
    readonly what: string,
    readonly option: string,
  ) {
    super(
      `Port ${port} (${what}) is already in use, probably by another npm start. ` +
        `Stop it, or choose another port: npm start -- ${option} <port>.`,
    );
  }
}

/** Resolves when `port` can be bound on `host`; 0 (any free port) always can. */
export async function assertPortFree(port: number, what: string, option: string, host = "127.0.0.1") {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "EADDRINUSE" || e.code === "EACCES" ? new PortInUseError(port, what, option) : e),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
