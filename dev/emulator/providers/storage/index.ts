import { BlobServiceClient } from "@azure/storage-blob";
import type {
  EmulatorProvider,
  EmulatorRequest,
  EmulatorResponse,
  ProviderContext,
  RouteDefinition,
} from "../../core/provider.js";
import { lower } from "../../core/ids.js";
import { isObject } from "../../core/json.js";
import { routeBuilder } from "../routes.js";
import {
  accountIdOf,
  blobEndpointFor,
  containerIdOf,
  STORAGE_PROVIDER,
  storageOptionsOf,
  storageSliceOf,
} from "./state.js";
import type { ContainerRecord, StorageAccountRecord } from "./state.js";

/**
 * A minimal Microsoft.Storage: storage accounts (the settings a restore as files depends on:
 * `allowCrossTenantReplication`, `publicNetworkAccess`, and `primaryEndpoints.blob`) and their blob
 * containers. Blobs live in the local Azurite when the emulator is given its connection string
 * (`startEmulator({ blobConnectionString })`): creating a container here creates it there.
 *
 * Seeds (`providers.storage`): `{ accounts: { <any key>: { subscriptionId, resourceGroupName, name,
 * location, allowCrossTenantReplication?, publicNetworkAccess?, containers?: [names] } } }` or the records
 * as exported (`accounts` and `containers` keyed by lower-cased id).
 */

export const STORAGE_API_VERSIONS = [
  "2021-09-01",
  "2022-09-01",
  "2023-01-01",
  "2023-05-01",
  "2024-01-01",
  "2025-01-01",
  "2025-06-01",
  "2026-06-01",
];
const route = routeBuilder(STORAGE_API_VERSIONS);

const ACCOUNTS_SUB = "/subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts";
const ACCOUNTS_RG =
  "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts";
const ACCOUNT = `${ACCOUNTS_RG}/{accountName}`;
const CONTAINERS = `${ACCOUNT}/blobServices/default/containers`;
const CONTAINER = `${CONTAINERS}/{containerName}`;

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/u;
const CONTAINER_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/u;

export function accountResource(
  context: ProviderContext,
  account: StorageAccountRecord,
): Record<string, unknown> {
  return {
    id: account.id,
    name: account.name,
    type: "Microsoft.Storage/storageAccounts",
    location: account.location,
    tags: account.tags,
    kind: account.kind,
    sku: { name: account.sku, tier: account.sku.startsWith("Premium") ? "Premium" : "Standard" },
    properties: {
      provisioningState: "Succeeded",
      creationTime: account.createdAt,
      primaryLocation: account.location,
      statusOfPrimary: "available",
      accessTier: "Hot",
      allowCrossTenantReplication: account.allowCrossTenantReplication,
      publicNetworkAccess: account.publicNetworkAccess,
      allowBlobPublicAccess: account.allowBlobPublicAccess,
      allowSharedKeyAccess: account.allowSharedKeyAccess,
      minimumTlsVersion: account.minimumTlsVersion,
      supportsHttpsTrafficOnly: true,
      networkAcls: { bypass: "AzureServices", virtualNetworkRules: [], ipRules: [], defaultAction: "Allow" },
      encryption: {
        keySource: "Microsoft.Storage",
        services: {
          blob: { enabled: true, keyType: "Account" },
          file: { enabled: true, keyType: "Account" },
        },
      },
      primaryEndpoints: { blob: blobEndpointFor(context, account) },
    },
  };
}

function containerResource(container: ContainerRecord): Record<string, unknown> {
  return {
    id: container.id,
    name: container.name,
    type: "Microsoft.Storage/storageAccounts/blobServices/containers",
    etag: `"0x${Buffer.from(container.createdAt).toString("hex").slice(0, 15).toUpperCase()}"`,
    properties: {
      publicAccess: container.publicAccess,
      metadata: container.metadata,
      leaseStatus: "Unlocked",
      leaseState: "Available",
      lastModifiedTime: container.createdAt,
      hasImmutabilityPolicy: false,
      hasLegalHold: false,
      deleted: false,
      remainingRetentionDays: 0,
      defaultEncryptionScope: "$account-encryption-key",
      denyEncryptionScopeOverride: false,
    },
  };
}

/** Creates `name` in the local Azurite (when configured); failures are logged, never thrown. */
export async function ensureAzuriteContainer(context: ProviderContext, name: string): Promise<void> {
  const connection = storageOptionsOf(context).blobConnectionString;
  if (!connection) return;
  try {
    await BlobServiceClient.fromConnectionString(connection).getContainerClient(name).createIfNotExists();
  } catch (error) {
    context.log(`storage: could not create container '${name}' in Azurite: ${String(error)}`);
  }
}

const bool = (v: unknown, fallback: boolean): boolean => (typeof v === "boolean" ? v : fallback);

/** A full account record from a seed's short form or a create body's properties. */
function accountRecord(
  context: ProviderContext,
  base: { subscriptionId: string; resourceGroupName: string; name: string; location: string },
  props: Record<string, unknown>,
  extra: { tags?: unknown; kind?: unknown; sku?: unknown } = {},
): StorageAccountRecord {
  const sku = isObject(extra.sku) && typeof extra.sku.name === "string" ? extra.sku.name : "Standard_LRS";
  return {
    id: accountIdOf(base.subscriptionId, base.resourceGroupName, base.name),
    ...base,
    tags: isObject(extra.tags) ? (extra.tags as Record<string, string>) : {},
    kind: typeof extra.kind === "string" ? extra.kind : "StorageV2",
    sku,
    allowCrossTenantReplication: bool(props.allowCrossTenantReplication, false),
    publicNetworkAccess:
      props.publicNetworkAccess === "Disabled" || props.publicNetworkAccess === "SecuredByPerimeter"
        ? props.publicNetworkAccess
        : "Enabled",
    allowBlobPublicAccess: bool(props.allowBlobPublicAccess, false),
    allowSharedKeyAccess: bool(props.allowSharedKeyAccess, true),
    minimumTlsVersion: typeof props.minimumTlsVersion === "string" ? props.minimumTlsVersion : "TLS1_2",
    createdAt: typeof props.createdAt === "string" ? props.createdAt : context.clock.nowIso(),
  };
}

function addContainer(
  context: ProviderContext,
  account: StorageAccountRecord,
  name: string,
): ContainerRecord {
  const id = containerIdOf(account.id, name);
  const container: ContainerRecord = {
    id,
    accountKey: lower(account.id),
    name,
    publicAccess: "None",
    metadata: {},
    createdAt: context.clock.nowIso(),
  };
  storageSliceOf(context).containers[lower(id)] = container;
  return container;
}

/** Turns seeded short forms into records (keyed by lower-cased id) and creates their containers in Azurite. */
function normaliseSeed(context: ProviderContext): void {
  const slice = storageSliceOf(context);
  for (const [k, value] of Object.entries(slice.accounts)) {
    const v = value as unknown as Record<string, unknown>;
    if (typeof v.id === "string" && k === lower(v.id) && typeof v.createdAt === "string") continue;
    delete slice.accounts[k];
    if (
      typeof v.subscriptionId !== "string" ||
      typeof v.resourceGroupName !== "string" ||
      typeof v.name !== "string"
    ) {
      context.log(
        `storage: seed account '${k}' skipped: subscriptionId, resourceGroupName and name are required.`,
      );
      continue;
    }
    const account = accountRecord(
      context,
      {
        subscriptionId: v.subscriptionId,
        resourceGroupName: v.resourceGroupName,
        name: v.name,
        location: typeof v.location === "string" ? v.location : "eastus",
      },
      v,
      v,
    );
    slice.accounts[lower(account.id)] = account;
    context.state.ensureResourceGroup(account.subscriptionId, account.resourceGroupName, account.location);
    for (const name of Array.isArray(v.containers) ? v.containers : [])
      if (typeof name === "string") addContainer(context, account, name);
  }
  for (const container of Object.values(slice.containers))
    void ensureAzuriteContainer(context, container.name);
}

type Handler = (
  request: EmulatorRequest,
  context: ProviderContext,
  account: StorageAccountRecord,
) => EmulatorResponse | Promise<EmulatorResponse>;

function accountRoute(
  method: RouteDefinition["method"],
  path: string,
  operationName: string,
  handler: Handler,
): RouteDefinition {
  return route(method, path, operationName, (request, context) => {
    const { subscriptionId = "", resourceGroupName = "", accountName = "" } = request.params;
    const account =
      storageSliceOf(context).accounts[lower(accountIdOf(subscriptionId, resourceGroupName, accountName))];
    return account
      ? handler(request, context, account)
      : context.respond.error(
          404,
          "ResourceNotFound",
          `The Resource 'Microsoft.Storage/storageAccounts/${accountName}' under resource group '${resourceGroupName}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
        );
  });
}

const page = (request: EmulatorRequest, context: ProviderContext, items: unknown[]): EmulatorResponse =>
  context.respond.json(200, context.pager.page(request, items));

/** Applies the writable settings of a create/update body's `properties`. */
function applySettings(account: StorageAccountRecord, props: Record<string, unknown>): string | undefined {
  if ("allowCrossTenantReplication" in props) {
    if (typeof props.allowCrossTenantReplication !== "boolean")
      return "'properties.allowCrossTenantReplication' must be true or false.";
    account.allowCrossTenantReplication = props.allowCrossTenantReplication;
  }
  if ("publicNetworkAccess" in props) {
    const v = props.publicNetworkAccess;
    if (v !== "Enabled" && v !== "Disabled" && v !== "SecuredByPerimeter")
      return "'properties.publicNetworkAccess' must be 'Enabled', 'Disabled' or 'SecuredByPerimeter'.";
    account.publicNetworkAccess = v;
  }
  for (const flag of ["allowBlobPublicAccess", "allowSharedKeyAccess"] as const) {
    if (!(flag in props)) continue;
    if (typeof props[flag] !== "boolean") return `'properties.${flag}' must be true or false.`;
    account[flag] = props[flag];
  }
  return undefined;
}

export function createStorageProvider(): EmulatorProvider {
  const routes = (): RouteDefinition[] => [
    route("GET", ACCOUNTS_SUB, "StorageAccounts_List", (request, context) =>
      page(
        request,
        context,
        Object.values(storageSliceOf(context).accounts)
          .filter((a) => lower(a.subscriptionId) === lower(request.params.subscriptionId ?? ""))
          .map((a) => accountResource(context, a)),
      ),
    ),
    route("GET", ACCOUNTS_RG, "StorageAccounts_ListByResourceGroup", (request, context) =>
      page(
        request,
        context,
        Object.values(storageSliceOf(context).accounts)
          .filter(
            (a) =>
              lower(a.subscriptionId) === lower(request.params.subscriptionId ?? "") &&
              lower(a.resourceGroupName) === lower(request.params.resourceGroupName ?? ""),
          )
          .map((a) => accountResource(context, a)),
      ),
    ),
    accountRoute("GET", ACCOUNT, "StorageAccounts_GetProperties", (_request, context, account) =>
      context.respond.json(200, accountResource(context, account)),
    ),
    route("PUT", ACCOUNT, "StorageAccounts_Create", (request, context) => {
      const { subscriptionId = "", resourceGroupName = "", accountName = "" } = request.params;
      if (!ACCOUNT_NAME.test(accountName)) {
        return context.respond.error(
          400,
          "AccountNameInvalid",
          `${accountName} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`,
        );
      }
      const body = isObject(request.body) ? request.body : {};
      if (typeof body.location !== "string")
        return context.respond.error(
          400,
          "LocationRequired",
          "The location property is required for this definition.",
        );
      const props = isObject(body.properties) ? body.properties : {};
      const slice = storageSliceOf(context);
      const id = accountIdOf(subscriptionId, resourceGroupName, accountName);
      const existing = slice.accounts[lower(id)];
      const account =
        existing ??
        accountRecord(
          context,
          { subscriptionId, resourceGroupName, name: accountName, location: body.location },
          props,
          body,
        );
      const problem = applySettings(account, props);
      if (problem) return context.respond.error(400, "InvalidRequestPropertyValue", problem);
      slice.accounts[lower(id)] = account;
      context.state.ensureResourceGroup(subscriptionId, resourceGroupName, account.location);
      return context.respond.json(200, accountResource(context, account));
    }),
    accountRoute("PATCH", ACCOUNT, "StorageAccounts_Update", (request, context, account) => {
      const body = isObject(request.body) ? request.body : {};
      const problem = applySettings(account, isObject(body.properties) ? body.properties : {});
      if (problem) return context.respond.error(400, "InvalidRequestPropertyValue", problem);
      if (isObject(body.tags)) account.tags = body.tags as Record<string, string>;
      return context.respond.json(200, accountResource(context, account));
    }),
    route("DELETE", ACCOUNT, "StorageAccounts_Delete", (request, context) => {
      const { subscriptionId = "", resourceGroupName = "", accountName = "" } = request.params;
      const slice = storageSliceOf(context);
      const k = lower(accountIdOf(subscriptionId, resourceGroupName, accountName));
      if (!slice.accounts[k]) return context.respond.empty(204);
      delete slice.accounts[k];
      for (const [ck, c] of Object.entries(slice.containers))
        if (c.accountKey === k) delete slice.containers[ck];
      return context.respond.empty(200);
    }),
    accountRoute("GET", CONTAINERS, "BlobContainers_List", (request, context, account) =>
      page(
        request,
        context,
        Object.values(storageSliceOf(context).containers)
          .filter((c) => c.accountKey === lower(account.id))
          .map(containerResource),
      ),
    ),
    accountRoute("GET", CONTAINER, "BlobContainers_Get", (request, context, account) => {
      const name = request.params.containerName ?? "";
      const container = storageSliceOf(context).containers[lower(containerIdOf(account.id, name))];
      return container
        ? context.respond.json(200, containerResource(container))
        : context.respond.error(404, "ContainerNotFound", "The specified container does not exist.");
    }),
    accountRoute("PUT", CONTAINER, "BlobContainers_Create", async (request, context, account) => {
      const name = request.params.containerName ?? "";
      if (!CONTAINER_NAME.test(name)) {
        return context.respond.error(
          400,
          "ContainerOperationFailure",
          `The specified resource name '${name}' contains invalid characters or length: container names are 3 to 63 lower-case letters, digits and single hyphens.`,
        );
      }
      const slice = storageSliceOf(context);
      const existing = slice.containers[lower(containerIdOf(account.id, name))];
      const container = existing ?? addContainer(context, account, name);
      const body = isObject(request.body) ? request.body : {};
      const props = isObject(body.properties) ? body.properties : {};
      if (isObject(props.metadata)) container.metadata = props.metadata as Record<string, string>;
      await ensureAzuriteContainer(context, name);
      return context.respond.json(existing ? 200 : 201, containerResource(container));
    }),
    accountRoute("DELETE", CONTAINER, "BlobContainers_Delete", (request, context, account) => {
      const k = lower(containerIdOf(account.id, request.params.containerName ?? ""));
      const slice = storageSliceOf(context);
      if (!slice.containers[k]) return context.respond.empty(204);
      delete slice.containers[k];
      return context.respond.empty(200);
    }),
  ];

  const controlRoutes = (): RouteDefinition[] => [
    {
      method: "POST",
      path: "/accounts",
      apiVersions: [],
      operationName: "Storage_AddAccount",
      handler: async (request, context) => {
        const b = isObject(request.body) ? request.body : {};
        if (
          typeof b.subscriptionId !== "string" ||
          typeof b.resourceGroupName !== "string" ||
          typeof b.name !== "string"
        ) {
          return context.respond.error(
            400,
            "InvalidRequest",
            "'subscriptionId', 'resourceGroupName' and 'name' are required.",
          );
        }
        const account = accountRecord(
          context,
          {
            subscriptionId: b.subscriptionId,
            resourceGroupName: b.resourceGroupName,
            name: b.name,
            location: typeof b.location === "string" ? b.location : "eastus",
          },
          b,
          b,
        );
        storageSliceOf(context).accounts[lower(account.id)] = account;
        context.state.ensureResourceGroup(
          account.subscriptionId,
          account.resourceGroupName,
          account.location,
        );
        for (const name of Array.isArray(b.containers) ? b.containers : []) {
          if (typeof name !== "string") continue;
          addContainer(context, account, name);
          await ensureAzuriteContainer(context, name);
        }
        return context.respond.json(201, accountResource(context, account));
      },
    },
  ];

  return { name: STORAGE_PROVIDER, routes, controlRoutes, onStateLoaded: normaliseSeed };
}

export default createStorageProvider;
