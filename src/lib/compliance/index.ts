export * from "./types.js";
export * from "./classify.js";
export * from "./report.js";
export * from "./sweeper.js";
export * from "./baseline.js";
export type { SweepsApi, SweepsApiOptions } from "./api.js";
export { createSweepsApi, sweepView } from "./api.js";
