export * from "./resourceEvents.js";
export * from "./handler.js";
