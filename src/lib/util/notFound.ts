import { isRestError } from "../errors.js";

/** True for a `RestError` with status 404 (ARM, Tables and Queues alike). */
export function isNotFound(e: unknown): boolean {
  return isRestError(e) && e.statusCode === 404;
}

/** The result of `read`, or undefined when the service answers 404; any other failure is rethrown. */
export async function getOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
