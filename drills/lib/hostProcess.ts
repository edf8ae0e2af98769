/**
 * The local Functions host in a process of its own, so a drill can SIGKILL it. Settings come from the
 * environment (the drill passes the app settings, NODE_EXTRA_CA_CERTS for the emulator, the port and keys).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT, startLocalHost, type HostJson } from "../../dev/host/index.js";

// functionTimeout (10 min) time-scaled: a message a killed host held comes back after the host's processing
// visibility, max(functionTimeout, 1 min) + 1 min, as in Azure; unscaled that is 11 minutes of real time.
const hostJson = JSON.parse(await readFile(join(REPO_ROOT, "host.json"), "utf8")) as HostJson & {
  functionTimeout?: string;
};
const scale = Number(process.env.PGFLEX_TIME_SCALE ?? "1") || 1;
const seconds = Math.max(1, Math.round(600 / scale));
hostJson.functionTimeout = `00:${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const host = await startLocalHost({
  port: Number(process.env.DRILL_HOST_PORT ?? 0),
  timers: "off",
  hostJson,
  keys: JSON.parse(process.env.DRILL_HOST_KEYS ?? "{}") as Record<string, string>,
  queuePollIntervalInMs: 50,
  visibilityTimeoutInMs: 0,
  logger: quiet,
});
process.stdout.write(`ready ${host.url}\n`);
