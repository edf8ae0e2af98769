import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { generateCertificate, writeCertificate } from "./core/cert.js";
import { createControlClient, handleControl, type ControlClient } from "./core/control.js";
import type { FaultConfig } from "./core/faults.js";
import { discoverProviders, type ProviderSource } from "./core/providers.js";
import { createPgDataControl, handlePgDataControl, type PgDataControl } from "./pg/control.js";
import { stopLocalPostgres } from "./pg/snapshots.js";
import {
  createEmulatorCore,
  DEFAULT_MAX_BODY_BYTES,
  type ControlHandler,
  type EmulatorCore,
} from "./core/server.js";
import type { EmulatorSeed } from "./core/state.js";
import { DEFAULT_THROTTLING, type ThrottlingConfig } from "./core/throttle.js";

export type { ControlClient, CreateServerSpec, CountersSnapshot } from "./core/control.js";
export type {
  EventSubscriberConfig,
  EventSubscriber,
  DeliveryRecord,
  DeadLetter,
  AdvancedFilter,
} from "./core/eventgrid.js";
export type { FaultConfig, FaultRule } from "./core/faults.js";
export type { EmulatorSeed, SeedServer, SeedRoleAssignment } from "./core/state.js";
export type { RequestLogEntry, OperationCounter } from "./core/server.js";
export type { ThrottlingConfig } from "./core/throttle.js";
export type { PgDataControl } from "./pg/control.js";
export type { DatabaseDeclaration, TableDeclaration } from "./pg/databases.js";
export { EMULATOR_ADMIN_PRINCIPAL_ID } from "./core/server.js";
export { BUILT_IN_ROLES } from "./core/rbac.js";

export interface StartEmulatorOptions {
  /** 0 picks a free port (tests); `npm run emulator` uses 8443. */
  port?: number;
  /** Loopback address to bind (default 127.0.0.1). */
  host?: string;
  /** Emulator time runs this many times faster than real time (LROs, RBAC delay, refills, retries). Default 1. */
  timeScale?: number;
  /** Initial state: a seed object or the path of a seed JSON file. */
  seed?: EmulatorSeed | string;
  /** Emulated delay before a new role assignment is honoured by `hasRole`. Default 0. */
  rbacPropagationDelayInMs?: number;
  /** Emulated duration of server create (and a quarter of it for update/delete). Default 60 000. */
  provisioningDelayInMs?: number;
  /** Real latency added to every ARM request. Default 0. */
  latencyInMs?: number;
  /** Seed of the fault and GUID PRNG for reproducible chaos. */
  faultSeed?: number;
  faults?: FaultConfig;
  throttling?: Partial<ThrottlingConfig>;
  /** Page size of list operations (default 100). */
  pageSize?: number;
  /** ARM front-end region of the throttling buckets (default `eastus`). */
  region?: string;
  /** Explicit provider list instead of discovering `dev/emulator/providers/*`. */
  providers?: ProviderSource[];
  providerOptions?: Record<string, unknown>;
  /** Where to write the certificate (PEM). Default: a file in the OS temp directory. */
  certPath?: string;
  maxBodyBytes?: number;
  /** Answer 404 `SubscriptionNotFound` for subscriptions not in the seed. Default false (all exist). */
  knownSubscriptionsOnly?: boolean;
  /** Log emulator diagnostics to stderr. */
  verbose?: boolean;
  /**
   * Connection string of the local Azurite (`AzuriteHandle.connectionString`): storage accounts'
   * `primaryEndpoints.blob` point at its blob endpoint and restores write their files there. Without it,
   * accounts get Azure-style endpoints and restores record their files without writing them.
   */
  blobConnectionString?: string;
  /**
   * Restores dump seeded databases from a local PostgreSQL where its binaries are installed (default true;
   * started on first use, stopped with the emulator). False serves the committed archives instead.
   */
  localPostgres?: boolean;
}

export interface RunningEmulator {
  /** `https://127.0.0.1:<port>` — the ARM endpoint for SDK clients. */
  url: string;
  port: number;
  caCertPath: string;
  caCert: string;
  control: ControlClient;
  /**
   * Changes a server's data (`emptyTable`, `setServerDatabases`): backups started from now on restore the
   * new data, earlier recovery points the old. Over HTTP: `control.invoke("PUT", "/pgdata/servers", …)`.
   */
  pgdata: PgDataControl;
  /** In-process access for tests of the emulator itself. */
  core: EmulatorCore;
  stop(): Promise<void>;
}

export async function loadSeed(seed: EmulatorSeed | string): Promise<EmulatorSeed> {
  if (typeof seed !== "string") return seed;
  return JSON.parse(await readFile(seed, "utf8")) as EmulatorSeed;
}

export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const certificate = await generateCertificate();
  const providers =
    options.providers ??
    (await discoverProviders((name, error) =>
      process.stderr.write(`[arm-emulator] provider '${name}' skipped: ${String(error)}\n`),
    ));
  const core = await createEmulatorCore(
    providers,
    {
      host: options.host ?? "127.0.0.1",
      timeScale: options.timeScale ?? 1,
      provisioningDelayInMs: options.provisioningDelayInMs ?? 60_000,
      rbacPropagationDelayInMs: options.rbacPropagationDelayInMs ?? 0,
      pageSize: options.pageSize ?? 100,
      region: options.region ?? "eastus",
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      faults: {
        ...(options.faults ?? {}),
        latencyInMs: options.latencyInMs ?? options.faults?.latencyInMs ?? 0,
      },
      throttling: { ...DEFAULT_THROTTLING, ...(options.throttling ?? {}) },
      knownSubscriptionsOnly: options.knownSubscriptionsOnly ?? false,
      providerOptions: {
        ...(options.providerOptions ?? {}),
        storage: {
          ...((options.providerOptions?.storage as object | undefined) ?? {}),
          ...(options.blobConnectionString ? { blobConnectionString: options.blobConnectionString } : {}),
        },
        pgdata: {
          ...((options.providerOptions?.pgdata as object | undefined) ?? {}),
          ...(options.localPostgres === undefined ? {} : { localPostgres: options.localPostgres }),
        },
      },
      verbose: options.verbose ?? false,
    },
    certificate,
    withPgDataControl,
    options.faultSeed,
  );
  const port = await core.listen(options.port ?? 0);
  const url = core.baseUrl();
  const caCertPath =
    options.certPath ?? join(tmpdir(), `pgflex-autoprotect-emulator-${process.pid}-${port}.pem`);
  await writeCertificate(caCertPath, certificate.cert);
  if (options.seed !== undefined) {
    await core.importSeed(await loadSeed(options.seed));
  }
  return {
    url,
    port,
    caCertPath,
    caCert: certificate.cert,
    control: createControlClient(url, certificate.cert),
    pgdata: createPgDataControl(core.context),
    core,
    stop: async () => {
      await core.stop();
      await stopLocalPostgres(core.context);
    },
  };
}

/** The core's control API with the servers' data controls (`/_emulator/pgdata/...`, pg/control.ts) ahead of it. */
const withPgDataControl: ControlHandler = async (request, core) =>
  handlePgDataControl(request, core.context) ?? handleControl(request, core);

const trusted = new Set<string>();

/**
 * Makes every later TLS connection of this process that does not pass its own `ca` trust `caCert` as well
 * as the public roots: Node's `https`, the Azure SDK pipeline (which builds its own `https.Agent`) and
 * global `fetch`. `NODE_EXTRA_CA_CERTS` does the same for child processes.
 */
export function trustEmulatorCertificate(caCert: string): void {
  if (trusted.has(caCert)) return;
  const first = trusted.size === 0;
  trusted.add(caCert);
  if (!first) return;
  const original = tls.createSecureContext;
  const patched: typeof tls.createSecureContext = (contextOptions = {}) =>
    original(
      contextOptions.ca ? contextOptions : { ...contextOptions, ca: [...tls.rootCertificates, ...trusted] },
    );
  tls.createSecureContext = patched;
}

/**
 * Options for an ARM SDK client (`@azure/arm-*`) talking to the emulator: endpoint, the certificate
 * through `tlsOptions` (honoured by core-rest-pipeline's Node HTTP client), and the ARM scope.
 */
export function emulatorClientOptions(emulator: Pick<RunningEmulator, "url" | "caCert">): {
  endpoint: string;
  tlsOptions: { ca: string };
  credentialScopes: string[];
} {
  return {
    endpoint: emulator.url,
    tlsOptions: { ca: emulator.caCert },
    credentialScopes: ["https://management.azure.com/.default"],
  };
}

/** A credential that hands out a fixed bearer token (the emulator checks presence, not signature). */
export function staticTokenCredential(token = "emulator-token"): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      return { token, expiresOnTimestamp: Date.now() + 60 * 60 * 1000 };
    },
  };
}
