/** The backup instance this app makes for a server: its body and how its policy is compared. */
import { normalizeRegion } from "../domain/region.js";
import type { BackupInstanceProperties, FlexibleServerInfo } from "./ports.js";

/**
 * Body of validateForBackup and of the instance PUT for a PG Flexible server. The location is the region's
 * name (`canadacentral`): PostgreSQL may answer its display name (`Canada Central`), which Data Protection refuses.
 */
export function instanceProperties(server: FlexibleServerInfo, policyId: string): BackupInstanceProperties {
  return {
    friendlyName: server.name,
    objectType: "BackupInstance",
    dataSourceInfo: {
      objectType: "Datasource",
      datasourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
      resourceID: server.id,
      resourceName: server.name,
      resourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
      resourceLocation: normalizeRegion(server.location),
      resourceUri: "",
    },
    policyInfo: { policyId },
  };
}

/** Last segment of a policy id (`.../backupPolicies/<name>`); undefined when absent. */
export function policyNameOf(policyId: string | undefined): string | undefined {
  return policyId?.split("/").filter(Boolean).pop() || undefined;
}

/** Policy names compare case-insensitively, as ARM names do. */
export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
