import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Azurite lifecycle for tests and local runs: the installed `azurite` package as a child process on
 * loopback, on ports the OS picks (read back from its output, so parallel suites never collide),
 * killed on {@link AzuriteHandle.stop} and with the parent process, however that ends.
 */
export interface StartAzuriteOptions {
  /** Keep data in memory (default). `false` uses `location`, or a temp folder removed on stop. */
  inMemory?: boolean;
  /** Workspace folder when `inMemory` is false; kept on stop. */
  location?: string;
  /** Give up waiting for Azurite to listen after this long (default 30 s). */
  startTimeoutInMs?: number;
  /** Print Azurite's access log (default false). */
  verbose?: boolean;
  abortSignal?: AbortSignal;
}

export interface AzuriteHandle {
  /** Connection string for the well-known development account, with this instance's endpoints. */
  readonly connectionString: string;
  readonly blobPort: number;
  readonly queuePort: number;
  readonly tablePort: number;
  readonly blobEndpoint: string;
  readonly queueEndpoint: string;
  readonly tableEndpoint: string;
  /** Stops Azurite and waits for it to exit; safe to call twice. */
  stop(): Promise<void>;
}

/** The public, documented development account of the Storage emulators (not a secret). */
export const DEV_ACCOUNT_NAME = "devstoreaccount1";
export const DEV_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const HOST = "127.0.0.1";
const here = dirname(fileURLToPath(import.meta.url));

export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteHandle> {
  const inMemory = options.inMemory ?? true;
  const ownedLocation =
    !inMemory && !options.location ? await mkdtemp(join(tmpdir(), "azurite-")) : undefined;
  const location = options.location ?? ownedLocation;
  const args = [
    "--require",
    join(here, "exit-with-parent.cjs"),
    azuriteEntry(),
    "--disableTelemetry",
    "--skipApiVersionCheck",
    "--loose",
    ...(options.verbose ? [] : ["--silent"]),
    // On disk, stop is a graceful SIGTERM that waits for idle keep-alive sockets: keep that wait short.
    ...(inMemory
      ? ["--inMemoryPersistence"]
      : [
          "--location",
          location as string,
          ...["--blobKeepAliveTimeout", "1", "--queueKeepAliveTimeout", "1"],
          ...["--tableKeepAliveTimeout", "1"],
        ]),
    ...["--blobHost", HOST, "--queueHost", HOST, "--tableHost", HOST],
    ...["--blobPort", "0", "--queuePort", "0", "--tablePort", "0"],
  ];
  // Azurite writes nothing to its cwd in memory mode; a temp cwd keeps stray files out of the repo anyway.
  const child = spawn(process.execPath, args, {
    cwd: location ?? tmpdir(),
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, AZURITE_ACCOUNTS: undefined },
  });
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      process.removeListener("exit", killOnExit);
      resolve();
    }),
  );

  let ports: Ports;
  try {
    ports = await waitForPorts(child, options.startTimeoutInMs ?? 30_000, options.abortSignal);
  } catch (e) {
    child.kill("SIGKILL");
    await exitPromise;
    if (ownedLocation) await rm(ownedLocation, { recursive: true, force: true });
    throw e;
  }
  if (options.verbose) child.stdout?.pipe(process.stdout);
  // A forgotten handle must not keep the parent alive; the child still dies with it (stdin ends).
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as { unref?(): void } | null)?.unref?.();

  const endpoint = (port: number): string => `http://${HOST}:${port}/${DEV_ACCOUNT_NAME}`;
  const blobEndpoint = endpoint(ports.blob);
  const queueEndpoint = endpoint(ports.queue);
  const tableEndpoint = endpoint(ports.table);
  let stopping: Promise<void> | undefined;
  return {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${DEV_ACCOUNT_KEY};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    blobPort: ports.blob,
    queuePort: ports.queue,
    tablePort: ports.table,
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    stop() {
      stopping ??= (async () => {
        if (!exited) {
          child.ref();
          // In memory there is nothing to flush, and a graceful stop waits out clients' keep-alive sockets.
          child.kill(inMemory ? "SIGKILL" : "SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
          await exitPromise;
          clearTimeout(timer);
        }
        if (ownedLocation) await rm(ownedLocation, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

interface Ports {
  blob: number;
  queue: number;
  table: number;
}

function azuriteEntry(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("azurite/package.json")), "dist", "src", "azurite.js");
}

/** Reads "Azurite <Service> service is successfully listening at http://127.0.0.1:<port>" lines. */
function waitForPorts(child: ChildProcess, timeoutInMs: number, abortSignal?: AbortSignal): Promise<Ports> {
  return new Promise<Ports>((resolve, reject) => {
    const found: Partial<Ports> = {};
    let output = "";
    const done = (error?: Error): void => {
      clearTimeout(timer);
      child.stdout?.removeListener("data", onData);
      child.stderr?.removeListener("data", onData);
      child.removeListener("exit", onExit);
      abortSignal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(found as Ports);
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      for (const m of output.matchAll(
        /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g,
      )) {
        found[(m[1] as string).toLowerCase() as keyof Ports] = Number(m[2]);
      }
      if (found.blob && found.queue && found.table) done();
    };
    const onExit = (code: number | null): void =>
      done(new Error(`Azurite exited with code ${code} before it was ready: ${lastLine(output)}`));
    const onAbort = (): void => done(new Error("Starting Azurite was aborted."));
    const timer = setTimeout(
      () => done(new Error(`Azurite did not start within ${timeoutInMs} ms: ${lastLine(output)}`)),
      timeoutInMs,
    );
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    abortSignal?.addEventListener("abort", onAbort);
    // Keep draining so a chatty child never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
  });
}

function lastLine(output: string): string {
  return output.trim().split("\n").pop() ?? "(no output)";
}
