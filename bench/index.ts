import type { Runnable } from "./lib/types.js";
import { coldStart } from "./coldStart.js";
import { protectionRequests } from "./protectionRequests.js";
import { burst } from "./burst.js";
import { burstCentral, burstHosts } from "./burstHosts.js";
import { sweep } from "./sweep.js";
import { poller } from "./poller.js";
import { inspector } from "./inspector.js";
import { telemetryCost } from "./telemetry.js";

/** Every benchmark, in report order. */
export const benchmarks: readonly Runnable[] = [
  coldStart,
  protectionRequests,
  burst,
  burstHosts,
  burstCentral,
  sweep,
  poller,
  inspector,
  telemetryCost,
];
