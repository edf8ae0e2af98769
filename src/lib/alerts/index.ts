export * from "./alerts.js";
export * from "./publishers.js";
