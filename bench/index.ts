import type { Runnable } from "./lib/types.js";
import { coldStart } from "./coldStart.js";
import { protectionRequests } from "./protectionRequests.js";
import { burst } from "./burst.js";
import { burstCentral, burstHosts } from "./burstHosts.js";
import { sweep } from "./sweep.js";
import { sweep100k } from "./sweep100k.js";
import { poller } from "./poller.js";
import { poller5k } from "./poller5k.js";
import { intake } from "./intake.js";
import { inspector } from "./inspector.js";
import { restoreTest } from "./restoreTest.js";
import { telemetryCost } from "./telemetry.js";

/** Every benchmark, in report order. */
export const benchmarks: readonly Runnable[] = [
  coldStart,
  protectionRequests,
  burst,
  burstHosts,
  burstCentral,
  sweep,
  sweep100k,
  poller,
  poller5k,
  intake,
  inspector,
  restoreTest,
  telemetryCost,
];
