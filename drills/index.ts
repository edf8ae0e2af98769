import type { Runnable } from "../bench/lib/types.js";
import { duplicates } from "./duplicates.js";

/** Every fault drill, in report order. */
export const drills: readonly Runnable[] = [duplicates];
