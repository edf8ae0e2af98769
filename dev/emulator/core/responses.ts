import type { EmulatorResponse, ResponseHelpers } from "./provider.js";

export function armError(
  status: number,
  code: string,
  message: string,
  details?: Array<{ code: string; message: string; target?: string }>,
  headers?: Record<string, string>,
): EmulatorResponse {
  return {
    status,
    body: { error: details ? { code, message, details } : { code, message } },
    ...(headers ? { headers } : {}),
  };
}

/** ARM's 404 for a resource group that does not exist, whichever provider's path names it. */
export function resourceGroupNotFound(resourceGroupName: string): EmulatorResponse {
  return armError(404, "ResourceGroupNotFound", `Resource group '${resourceGroupName}' could not be found.`);
}

/** ARM's 400 for a PUT of a tracked resource (server, resource group) without `location`. */
export function locationRequired(): EmulatorResponse {
  return armError(400, "LocationRequired", "The location property is required for this definition.");
}

export const responseHelpers: ResponseHelpers = {
  json: (status, body, headers) => ({ status, body, ...(headers ? { headers } : {}) }),
  error: (status, code, message, details) => armError(status, code, message, details),
  notFound(resourceType, resourceName, resourceGroupName) {
    const where = resourceGroupName ? ` under resource group '${resourceGroupName}'` : "";
    return armError(
      404,
      "ResourceNotFound",
      `The Resource '${resourceType}/${resourceName}'${where} was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  },
  empty: (status = 204, headers) => ({ status, ...(headers ? { headers } : {}) }),
};
