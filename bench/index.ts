import type { Runnable } from "./lib/types.js";
import { coldStart } from "./coldStart.js";
import { protectionRequests } from "./protectionRequests.js";

/** Every benchmark, in report order. */
export const benchmarks: readonly Runnable[] = [coldStart, protectionRequests];
