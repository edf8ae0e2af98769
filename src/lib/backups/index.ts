export * from "./gateway.js";
export * from "./service.js";
export * from "./scheduled.js";
export * from "./outcomes.js";
export * from "./api.js";
