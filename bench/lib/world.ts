import {
  startEmulator,
  trustEmulatorCertificate,
  type RunningEmulator,
  type StartEmulatorOptions,
} from "../../dev/emulator/index.js";
import { createDataProtectionControl } from "../../dev/emulator/providers/dataprotection/control.js";
import { ROLE_LTR_BACKUP, ROLE_READER } from "../../dev/emulator/providers/dataprotection/state.js";
import { startAzurite, type AzuriteHandle } from "../../dev/azurite/index.js";
import { startLocalHost, type HostJson, type LocalHost } from "../../dev/host/index.js";
import { startLocalHosts, type LocalHosts } from "../../dev/host/index.js";
import type { Logger } from "../../src/lib/logger.js";
import { resetApp } from "../../src/lib/app.js";
import { AUDIENCE, TENANT, startTokenIssuer, type TokenIssuer } from "./tokens.js";

/**
 * A whole local product for benchmarks, drills and the hostile-input corpus: the ARM emulator (time-scaled),
 * a Backup vault whose identity holds both roles on each subscription, Azurite, a loopback JWKS and,
 * optionally, the local Functions host serving the real app. Everything is on loopback and stops together.
 */

export const SUBSCRIPTION = "11111111-1111-4111-8111-111111111111";
export const REGION = "westeurope";
export const VAULT_RG = "rg-backup";
export const VAULT_NAME = "bv-weu";
export const SERVER_RG = "rg-db";
export const VAULT_PRINCIPAL = "aaaaaaaa-0000-4000-8000-000000000001";

export const vaultIdOf = (subscriptionId = SUBSCRIPTION): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${VAULT_RG}/providers/Microsoft.DataProtection/backupVaults/${VAULT_NAME}`;

export interface WorldOptions {
  /** Emulator time runs this many times faster; the app's waits are divided by it (PGFLEX_TIME_SCALE). */
  timeScale?: number;
  /** Subscriptions in scope (default one). */
  subscriptions?: string[];
  emulator?: Omit<StartEmulatorOptions, "timeScale">;
  /** Start the local host with the app's functions (default true). */
  host?: boolean;
  hostEnv?: Record<string, string>;
  queuePollIntervalInMs?: number;
  visibilityTimeoutInMs?: number;
  /** Subscribe the host's Event Grid webhook to the emulator's events (default true when host). */
  subscribeEvents?: boolean;
  eventSubscriber?: { duplicateRate?: number; reorderWindowInMs?: number };
  logger?: Logger;
  /** Storage to use instead of a fresh in-memory Azurite (the caller stops it), e.g. behind a proxy. */
  storage?: AzuriteHandle;
  /** host.json for the local host (default: the repo's). */
  hostJson?: HostJson;
  /**
   * Local host instances: 1 (default) runs the host in this process (`world.host`); more run that many
   * processes on the same Azurite behind a round-robin front end (`world.hosts`), as Azure scales out.
   */
  hosts?: number;
  /** The vault lives in this subscription instead of the first one (a central backup subscription). */
  vaultSubscription?: string;
}

export interface World {
  emulator: RunningEmulator;
  azurite: AzuriteHandle;
  tokens: TokenIssuer;
  host?: LocalHost;
  /** The instances when `hosts` > 1 (then `host` is undefined). */
  hosts?: LocalHosts;
  timeScale: number;
  subscriptions: string[];
  /** App settings the app runs with (also usable to build in-process runtimes). */
  env: Record<string, string>;
  /** Creates a server in the emulator (Ready unless told); `publishEvent` emits its write event. */
  addServer(
    name: string,
    options?: { subscriptionId?: string; tags?: Record<string, string>; publishEvent?: boolean },
  ): Promise<string>;
  stop(): Promise<void>;
}

/** A logger that drops everything (benchmarks must not measure console output). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const timeScale = options.timeScale ?? 1000;
  const subscriptions = options.subscriptions ?? [SUBSCRIPTION];
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const emulator = await startEmulator({ provisioningDelayInMs: 60_000, ...options.emulator, timeScale });
    stops.push(() => emulator.stop());
    trustEmulatorCertificate(emulator.caCert);
    const dp = createDataProtectionControl(emulator.core.context);
    // One vault (first subscription) serves the region; its identity holds both roles on every subscription.
    dp.addVault({
      subscriptionId: options.vaultSubscription ?? subscriptions[0] ?? SUBSCRIPTION,
      resourceGroupName: VAULT_RG,
      name: VAULT_NAME,
      location: REGION,
      principalId: VAULT_PRINCIPAL,
    });
    for (const subscriptionId of subscriptions) {
      for (const role of [ROLE_LTR_BACKUP, ROLE_READER]) {
        const name = `0000${role.slice(4, 8)}-0000-4000-8000-${subscriptionId.slice(0, 12)}`;
        const scope = `/subscriptions/${subscriptionId}`;
        const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
        emulator.core.state.roleAssignments.set(id.toLowerCase(), {
          id,
          name,
          scope,
          roleDefinitionId: `${scope}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
          principalId: VAULT_PRINCIPAL,
          principalType: "ServicePrincipal",
          createdOn: new Date().toISOString(),
          effectiveFromMs: 0,
        });
      }
    }
    const azurite = options.storage ?? (await startAzurite());
    if (!options.storage) stops.push(() => azurite.stop());
    const tokens = await startTokenIssuer();
    stops.push(() => tokens.stop());
    const env: Record<string, string> = {
      AzureWebJobsStorage: azurite.connectionString,
      PGFLEX_SCOPES: subscriptions.join(","),
      PGFLEX_VAULT_MAP: `${REGION}=${vaultIdOf(options.vaultSubscription ?? subscriptions[0])}`,
      PGFLEX_POLICY_MAP: "weekly=pgflex-weekly",
      PGFLEX_AUTH_TENANT_ID: TENANT,
      PGFLEX_AUTH_AUDIENCE: AUDIENCE,
      PGFLEX_AUTH_JWKS_URI: tokens.jwksUri,
      PGFLEX_ARM_ENDPOINT: emulator.url,
      PGFLEX_ARM_CREDENTIAL: "emulator",
      PGFLEX_TIME_SCALE: String(timeScale),
      PGFLEX_LOG_LEVEL: "warn",
      ...options.hostEnv,
    };
    /** Subscribes the host's Event Grid webhook at `url` to every subscription's events. */
    const subscribeToEvents = async (url: string, eventGridKey: string): Promise<void> => {
      const endpoint = new URL("/runtime/webhooks/EventGrid", url);
      endpoint.searchParams.set("functionName", "onResourceEvent");
      endpoint.searchParams.set("code", eventGridKey);
      for (const subscriptionId of subscriptions) {
        await emulator.control.addEventSubscriber({
          endpointUrl: endpoint.href,
          topic: `/subscriptions/${subscriptionId}`,
          skipValidation: true,
          ...options.eventSubscriber,
        });
      }
    };
    let host: LocalHost | undefined;
    // The app is kept per process; a new world (new emulator, new Azurite) needs a fresh one.
    resetApp();
    if ((options.host ?? true) && (options.hosts ?? 1) <= 1) {
      host = await startLocalHost({
        port: 0,
        timers: "off",
        env,
        ...(options.hostJson ? { hostJson: options.hostJson } : {}),
        queuePollIntervalInMs: options.queuePollIntervalInMs ?? 100,
        // host.json's 10 s between retries of a failed message, time-scaled (the host rounds up to whole seconds).
        visibilityTimeoutInMs: options.visibilityTimeoutInMs ?? Math.max(1, Math.round(10_000 / timeScale)),
        logger: options.logger ?? silentLogger,
      });
      const running = host;
      stops.push(() => running.stop());
      if (options.subscribeEvents ?? true) await subscribeToEvents(host.url, host.eventGridKey);
    }
    let hosts: LocalHosts | undefined;
    if ((options.host ?? true) && (options.hosts ?? 1) > 1) {
      hosts = await startLocalHosts({
        count: options.hosts ?? 1,
        env: { ...env, NODE_EXTRA_CA_CERTS: emulator.caCertPath },
        ...(options.hostJson ? { hostJson: options.hostJson } : {}),
        queuePollIntervalInMs: options.queuePollIntervalInMs ?? 100,
        visibilityTimeoutInMs: options.visibilityTimeoutInMs ?? Math.max(1, Math.round(10_000 / timeScale)),
      });
      const running = hosts;
      stops.push(() => running.stop());
      // Event Grid posts to the front end, which spreads deliveries over the instances.
      if (options.subscribeEvents ?? true) await subscribeToEvents(hosts.url, hosts.keys.eventGridKey);
    }
    return {
      emulator,
      azurite,
      tokens,
      host,
      ...(hosts ? { hosts } : {}),
      timeScale,
      subscriptions,
      env,
      async addServer(name, opts = {}) {
        const server = await emulator.control.createServer({
          subscriptionId: opts.subscriptionId ?? subscriptions[0] ?? SUBSCRIPTION,
          resourceGroupName: SERVER_RG,
          name,
          location: REGION,
          tags: opts.tags ?? {},
          publishEvent: opts.publishEvent ?? false,
        });
        return server.id;
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
