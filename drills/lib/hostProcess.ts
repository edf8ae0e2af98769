/**
 * The local Functions host in a process of its own, so a drill can SIGKILL it. Settings come from the
 * environment (the drill passes the app settings, NODE_EXTRA_CA_CERTS for the emulator, the port and keys).
 */
import { startLocalHost } from "../../dev/host/index.js";
import { scaledHostJson } from "./scaledHostJson.js";

const hostJson = await scaledHostJson(Number(process.env.PGFLEX_TIME_SCALE ?? "1"));

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
