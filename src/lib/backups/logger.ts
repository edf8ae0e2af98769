import { createConsoleLogger, type Logger } from "../logger.js";

export function createLogger(): Logger {
  return createConsoleLogger("backups");
}
