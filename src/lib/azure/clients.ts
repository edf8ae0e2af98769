import type { TokenCredential } from "@azure/core-auth";
import type { PostgreSQLManagementFlexibleServerClient } from "@azure/arm-postgresql-flexible";
import type { AuthorizationManagementClient } from "@azure/arm-authorization";
import type { ResourceGraphClient } from "@azure/arm-resourcegraph";
import type { StorageManagementClient } from "@azure/arm-storage";
import type { ContainerClient } from "@azure/storage-blob";
import type { Config } from "../config/index.js";
import { createCredential } from "./credential.js";
import { createPacer, createPacingPolicy } from "./pacing.js";
import type { Pacer, PacingOptions, PacingPolicy } from "./pacing.js";
import type { SharedBudget } from "./fleetBudget.js";
import type { DataProtectionClient } from "./dataprotection/client.js";
import type { ArmRestClientOptions } from "./arm-rest.js";
import type { AbortSignalLike } from "@azure/abort-controller";

/**
 * The one place that builds ARM clients. Every client shares one credential, the configured endpoint
 * (`PGFLEX_ARM_ENDPOINT`, the emulator locally) and one pacing policy. The app calls this once per process
 * (`src/lib/app.ts`), so the local token buckets see all of the app's ARM traffic. SDK modules are loaded
 * with `import()` on first use to keep cold start small.
 */

export interface ArmClients {
  readonly endpoint: string;
  /** Shared pacing (stats for logs and tests). */
  readonly pacing: PacingPolicy;
  /**
   * Draws every ARM call from the fleet's shared buckets from now on (`PGFLEX_ARM_BUDGET=shared`: the
   * composition root passes the `armBudget` table once Storage is connected).
   */
  useSharedBudget(budget: SharedBudget): void;
  credential(): Promise<TokenCredential>;
  postgres(subscriptionId: string): Promise<PostgreSQLManagementFlexibleServerClient>;
  authorization(subscriptionId: string): Promise<AuthorizationManagementClient>;
  resourceGraph(): Promise<ResourceGraphClient>;
  /** Without `subscriptionId` only id-independent calls work; pass the vault's subscription. */
  dataProtection(subscriptionId?: string): Promise<DataProtectionClient>;
  /** Storage accounts (ARM), on the shared pacer. */
  storage(subscriptionId: string): Promise<StorageManagementClient>;
  /**
   * The Blob service's client for the container at `containerUrl` (data plane, not ARM: no pacing). In Azure
   * it authenticates with the shared credential; a loopback endpoint (the local Azurite) with the account key
   * of the configured local Storage connection string.
   */
  blobContainer(containerUrl: string): Promise<ContainerClient>;
}

export interface CreateArmClientsOptions {
  /** Default: `createCredential(config)`. */
  credential?: TokenCredential;
  /** Extra core-rest-pipeline policies for every client (tests: host rewrite, recording). */
  additionalPolicies?: ArmRestClientOptions["additionalPolicies"];
  /** A shared pacer or its options (rates, clock) — time-scaled tests pass faster rates. */
  pacing?: Pacer | PacingOptions;
  /** E.g. `{ ca }` to trust the emulator's certificate. */
  tlsOptions?: ArmRestClientOptions["tlsOptions"];
  /** Default LRO poll interval of the Data Protection client. */
  updateIntervalInMs?: number;
}

export function createArmClients(
  config: Pick<Config, "armEndpoint" | "armCredential" | "azureClientId"> &
    Partial<Pick<Config, "timeScale" | "storageConnection">>,
  options: CreateArmClientsOptions = {},
): ArmClients {
  const endpoint = config.armEndpoint.replace(/\/+$/, "");
  const timeScale = config.timeScale ?? 1;
  const pacer: Pacer =
    options.pacing && "pace" in options.pacing
      ? options.pacing
      : createPacer(scaledPacing(timeScale, options.pacing));
  const updateIntervalInMs =
    options.updateIntervalInMs ?? (timeScale > 1 ? Math.max(1, Math.round(2000 / timeScale)) : undefined);
  const pacing = createPacingPolicy(pacer);
  let credentialPromise: Promise<TokenCredential> | undefined;
  const credential = (): Promise<TokenCredential> =>
    (credentialPromise ??= options.credential
      ? Promise.resolve(options.credential)
      : createCredential(config as Config));

  // The pacing policy owns retries (429 with Retry-After, bounded 5xx/connection retries, none for POST
  // once sent), so the pipelines' own retry policies are switched off.
  const pipelineOptions = {
    endpoint,
    credentialScopes: [`${endpoint}/.default`],
    additionalPolicies: [
      { policy: pacing, position: "perCall" as const },
      ...(options.additionalPolicies ?? []),
    ],
    retryOptions: { maxRetries: 0 },
    tlsOptions: options.tlsOptions,
  };

  const cache = new Map<string, Promise<unknown>>();
  function once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      cache.set(key, p);
      p.catch(() => cache.delete(key));
    }
    return p;
  }

  return {
    endpoint,
    pacing,
    useSharedBudget: (budget) => pacer.useSharedBudget(budget),
    credential,
    postgres: (subscriptionId) =>
      once(`postgres/${subscriptionId.toLowerCase()}`, async () => {
        const { PostgreSQLManagementFlexibleServerClient } = await import("@azure/arm-postgresql-flexible");
        return new PostgreSQLManagementFlexibleServerClient(
          await credential(),
          subscriptionId,
          pipelineOptions,
        );
      }),
    authorization: (subscriptionId) =>
      once(`authorization/${subscriptionId.toLowerCase()}`, async () => {
        const { AuthorizationManagementClient } = await import("@azure/arm-authorization");
        return new AuthorizationManagementClient(await credential(), subscriptionId, pipelineOptions);
      }),
    resourceGraph: () =>
      once("resourceGraph", async () => {
        // arm-resourcegraph 4 is built on @azure/ms-rest-js, whose pipeline takes request policy factories.
        const { ResourceGraphClient } = await import("@azure/arm-resourcegraph");
        const factory = msRestPacingFactory(pacer);
        return new ResourceGraphClient(await credential(), {
          baseUri: endpoint,
          credentialScopes: pipelineOptions.credentialScopes,
          noRetryPolicy: true,
          requestPolicyFactories: (defaults: MsRestPolicyFactory[]) => [factory, ...defaults],
        } as unknown as ConstructorParameters<typeof ResourceGraphClient>[1]);
      }),
    dataProtection: (subscriptionId) =>
      once(`dataProtection/${subscriptionId?.toLowerCase() ?? ""}`, async () => {
        const { DataProtectionClient } = await import("./dataprotection/client.js");
        return new DataProtectionClient(await credential(), subscriptionId, {
          ...pipelineOptions,
          updateIntervalInMs,
        });
      }),
    storage: (subscriptionId) =>
      once(`storage/${subscriptionId.toLowerCase()}`, async () => {
        const { StorageManagementClient } = await import("@azure/arm-storage");
        return new StorageManagementClient(await credential(), subscriptionId, {
          ...pipelineOptions,
          // Pinned: the SDK's default follows its newest preview-era version; 2025-06-01 is GA everywhere.
          apiVersion: storageApiVersion,
          credentials: { scopes: pipelineOptions.credentialScopes },
        });
      }),
    blobContainer: async (containerUrl) => {
      const { ContainerClient, StorageSharedKeyCredential } = await import("@azure/storage-blob");
      const local = localAccountKey(containerUrl, config.storageConnection);
      if (local) {
        return new ContainerClient(containerUrl, new StorageSharedKeyCredential(local.name, local.key), {
          allowInsecureConnection: true,
          ...(options.tlsOptions ? { tlsOptions: options.tlsOptions } : {}),
        } as ConstructorParameters<typeof ContainerClient>[2]);
      }
      return new ContainerClient(containerUrl, await credential());
    },
  };
}

/** The Microsoft.Storage api-version of account reads (GA; the local emulator serves it too). */
const storageApiVersion = "2025-06-01";

/** Azurite's well-known development account (documented by Microsoft; not a secret). */
const devAccount = {
  name: "devstoreaccount1",
  key: "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
};

/**
 * The account name and key for a loopback blob endpoint (the local Azurite), from the local Storage
 * connection string; undefined for any other endpoint or when no key is configured.
 */
function localAccountKey(
  containerUrl: string,
  connection: string | undefined,
): { name: string; key: string } | undefined {
  let host: string;
  try {
    host = new URL(containerUrl).hostname;
  } catch {
    return undefined;
  }
  if (host !== "localhost" && !host.startsWith("127.") && host !== "[::1]") return undefined;
  if (!connection) return undefined;
  if (/UseDevelopmentStorage=true/i.test(connection)) return devAccount;
  const name = /AccountName=([^;]+)/i.exec(connection)?.[1];
  const key = /AccountKey=([^;]+)/i.exec(connection)?.[1];
  return name && key ? { name, key } : undefined;
}

/**
 * Against an emulator running `timeScale` times faster (PGFLEX_TIME_SCALE), ARM's buckets refill that much
 * faster in real time and backoffs shrink alike; explicit options win.
 */
function scaledPacing(timeScale: number, options: PacingOptions = {}): PacingOptions {
  if (timeScale <= 1) return options;
  return {
    reads: { burst: 250, perSecond: 25 * timeScale },
    writes: { burst: 200, perSecond: 10 * timeScale },
    retryDelayInMs: Math.max(1, Math.round(1000 / timeScale)),
    defaultRetryAfterInMs: Math.max(1, Math.round(5000 / timeScale)),
    ...options,
  };
}

/** The parts of an @azure/ms-rest-js request/response/policy the adapter touches (structural, no import). */
interface MsRestRequest {
  method: string;
  url: string;
  abortSignal?: AbortSignalLike;
  clone(): MsRestRequest;
}
interface MsRestResponse {
  status: number;
  headers: { get(name: string): string | undefined };
}
interface MsRestPolicy {
  sendRequest(request: MsRestRequest): Promise<MsRestResponse>;
}
interface MsRestPolicyFactory {
  create(nextPolicy: MsRestPolicy, options: unknown): MsRestPolicy;
}

/** Adapts the pacer to @azure/ms-rest-js's pipeline (arm-resourcegraph 4 is built on it). */
function msRestPacingFactory(pacer: Pacer): MsRestPolicyFactory {
  return {
    create: (nextPolicy) => ({
      // Each attempt sends a clone: ms-rest-js policies may mutate the request.
      sendRequest: (request) =>
        pacer.pace(request.method, request.url, request.abortSignal, () =>
          nextPolicy.sendRequest(request.clone()),
        ),
    }),
  };
}
