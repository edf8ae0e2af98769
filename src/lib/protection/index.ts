export * from "./queueMessages.js";
export * from "./naming.js";
export * from "./decide.js";
export * from "./ports.js";
export * from "./vaults.js";
export * from "./worker.js";
export * from "./settings.js";
