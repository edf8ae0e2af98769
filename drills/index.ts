import type { Runnable } from "../bench/lib/types.js";
import { duplicates } from "./duplicates.js";
import { chaos } from "./chaos.js";
import { races } from "./races.js";
import { storageOutage } from "./storageOutage.js";
import { crash } from "./crash.js";
import { hostKill } from "./hostKill.js";
import { archiveFuzz } from "./archiveFuzz.js";
import { restoreChaos } from "./restoreChaos.js";

/** Every fault drill, in report order. */
export const drills: readonly Runnable[] = [
  chaos,
  crash,
  hostKill,
  storageOutage,
  duplicates,
  races,
  restoreChaos,
  archiveFuzz,
];
