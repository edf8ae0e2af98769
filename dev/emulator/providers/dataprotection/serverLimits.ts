/**
 * What Azure Backup refuses for PostgreSQL Flexible Servers beyond the API shapes (azure-reference
 * service-facts.md): Data Protection bodies take the region name (`eastus`), never PostgreSQL's display name
 * (`East US`); read replicas cannot be protected (primaries only); backups of a server over 1 TB fail.
 * Error codes in Azure's style: no public reference gives the exact ones.
 */
import type { ServerRecord } from "../../core/provider.js";
import { isObject } from "../../core/json.js";
import type { JobOutcome } from "./state.js";

export const limitCodes = {
  replicaNotSupported: "UserErrorReadReplicaNotSupported",
  serverTooLarge: "UserErrorDatasourceSizeExceedsLimit",
} as const;

/** Azure Backup backs up PG Flexible servers up to 1 TB. */
export const MAX_STORAGE_GB = 1024;

/**
 * A region name: lower-case letters and digits (`canadacentral`, `eastus2euap`); the spec's examples also
 * send an empty string, which the service takes.
 */
const REGION_NAME = /^[a-z0-9]*$/;

interface LimitFailure {
  status: number;
  code: string;
  message: string;
}

/** `dataSourceInfo.resourceLocation` / `dataSourceSetInfo.resourceLocation`, when sent, must be a region name. */
export function checkResourceLocations(
  body: Record<string, unknown>,
  where: string,
  invalid: (message: string) => LimitFailure,
): LimitFailure | undefined {
  for (const part of ["dataSourceInfo", "dataSourceSetInfo"]) {
    const info = body[part];
    if (!isObject(info) || info.resourceLocation === undefined) continue;
    const location = info.resourceLocation;
    if (typeof location !== "string" || !REGION_NAME.test(location)) {
      return invalid(
        `'${where}.${part}.resourceLocation' is '${String(location)}'; it must be the region name such as '${typeof location === "string" ? location.replace(/\s+/g, "").toLowerCase() : "eastus"}', not a display name.`,
      );
    }
  }
  return undefined;
}

/** Validation and configure-protection of a read replica fail: Azure Backup protects primary servers only. */
export function refuseReplica(server: ServerRecord): LimitFailure | undefined {
  const role = server.properties.replicationRole;
  if (typeof role !== "string" || ["none", "primary"].includes(role.toLowerCase())) return undefined;
  return {
    status: 400,
    code: limitCodes.replicaNotSupported,
    message: `The PostgreSQL Flexible Server '${server.name}' is a read replica (replicationRole '${role}'). Backup of read replicas is not supported; configure backup on the primary server.`,
  };
}

/** A backup job of a server over 1 TB fails (the validation passes: the size is only met by the backup). */
export function tooLargeOutcome(server: ServerRecord | undefined): JobOutcome | undefined {
  const storage = server?.properties.storage;
  const size = isObject(storage) ? storage.storageSizeGB : undefined;
  if (!server || typeof size !== "number" || size <= MAX_STORAGE_GB) return undefined;
  return {
    status: "Failed",
    errorCode: limitCodes.serverTooLarge,
    errorMessage: `The PostgreSQL Flexible Server '${server.name}' has ${size} GB of storage, above the ${MAX_STORAGE_GB} GB that Azure Backup supports. Backups of servers over 1 TB are not supported.`,
  };
}
