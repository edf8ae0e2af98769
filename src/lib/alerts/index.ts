export * from "./alerts.js";
export * from "./publishers.js";
export * from "./configured.js";
