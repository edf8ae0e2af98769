import { request } from "node:https";
import {
  PostgreSQLManagementFlexibleServerClient,
  type PostgreSQLManagementFlexibleServerClientOptionalParams,
} from "@azure/arm-postgresql-flexible";
import {
  emulatorClientOptions,
  staticTokenCredential,
  startEmulator,
  type RunningEmulator,
  type SeedServer,
  type StartEmulatorOptions,
} from "../../dev/emulator/index.js";
import createAuthorizationProvider from "../../dev/emulator/providers/authorization/index.js";
import createPostgresProvider from "../../dev/emulator/providers/postgresql/index.js";
import createResourcesProvider from "../../dev/emulator/providers/resources/index.js";
import { useStarted } from "../support/suite.js";

export const SUB_A = "11111111-1111-4111-8111-111111111111";
export const SUB_B = "22222222-2222-4222-8222-222222222222";

/** The one server most suites seed: `alpha-db` in `rg-one` of SUB_A. */
export const ALPHA_DB: SeedServer = {
  subscriptionId: SUB_A,
  resourceGroupName: "rg-one",
  name: "alpha-db",
  location: "eastus",
};

/** An emulator with the core's own providers only (other providers are tested in their own suites). */
export function startCoreEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({
    port: 0,
    timeScale: 1000,
    providers: [createResourcesProvider, createPostgresProvider, createAuthorizationProvider],
    ...options,
  });
}

/** `startCoreEmulator(options)` for one suite: started in `beforeAll`, stopped in `afterAll`. */
export function useCoreEmulator(options: StartEmulatorOptions = {}): RunningEmulator {
  return useStarted(
    () => startCoreEmulator(options),
    (emulator) => emulator.stop(),
    "The emulator is not running: use it inside tests or hooks, after beforeAll.",
  );
}

/** An `@azure/arm-postgresql-flexible` client of `subscriptionId` that trusts the emulator's certificate. */
export function postgresClient(
  emulator: RunningEmulator,
  subscriptionId = SUB_A,
  options: PostgreSQLManagementFlexibleServerClientOptionalParams = {},
): PostgreSQLManagementFlexibleServerClient {
  return new PostgreSQLManagementFlexibleServerClient(staticTokenCredential(), subscriptionId, {
    ...emulatorClientOptions(emulator),
    ...options,
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

/** A raw HTTPS call, for what SDK clients never send (bad input, missing bearer). */
export function raw(
  emulator: RunningEmulator,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string>; bearer?: string | null } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.bearer !== null) headers.authorization = `Bearer ${options.bearer ?? "test-token"}`;
    if (options.body !== undefined) {
      headers["content-type"] ??= "application/json";
      headers["content-length"] = String(Buffer.byteLength(options.body));
    }
    const req = request(`${emulator.url}${path}`, { method, headers, ca: emulator.caCert }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

export const serverPath = (sub: string, rg: string, name: string): string =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
