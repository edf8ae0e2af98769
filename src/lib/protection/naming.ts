import { v5 as uuidv5 } from "uuid";

/** Fixed namespace so that names are stable across deployments and versions. */
const NAMESPACE = "6f1c8d2e-4b7a-5c3d-9e8f-0a1b2c3d4e5f";

/**
 * Deterministic backup instance name, as the Azure CLI shapes it (`{server}-{guid}`, see the recording):
 * a repeated PUT after a crash updates the same instance instead of creating a second one.
 */
export function backupInstanceName(serverResourceId: string): string {
  const id = serverResourceId.trim().toLowerCase();
  const server = id.split("/").pop() ?? "";
  return `${server}-${uuidv5(id, NAMESPACE)}`;
}
