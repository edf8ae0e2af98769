import { join } from "node:path";
import { REPO_ROOT, type HostJson } from "../../dev/host/index.js";
import { hostSettings, readHostJson } from "../../dev/host/hostJson.js";

/**
 * The repo's host.json with `functionTimeout` divided by the time scale. A message whose invocation dies with
 * the host or with Storage comes back only after the host's processing visibility, max(functionTimeout, 1 min)
 * + 1 min as in Azure: unscaled, 11 minutes of real time, longer than a drill waits.
 */
export async function scaledHostJson(timeScale: number): Promise<HostJson> {
  const hostJson = await readHostJson(join(REPO_ROOT, "host.json"));
  const seconds = Math.max(
    1,
    Math.round(hostSettings(hostJson).functionTimeoutInMs / 1000 / (timeScale || 1)),
  );
  const minutes = String(Math.floor(seconds / 60)).padStart(2, "0");
  return { ...hostJson, functionTimeout: `00:${minutes}:${String(seconds % 60).padStart(2, "0")}` };
}
