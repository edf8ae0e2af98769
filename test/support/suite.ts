import { afterAll, beforeAll } from "vitest";

/**
 * A resource per suite, started in `beforeAll` and stopped in `afterAll`, read through the returned object
 * inside tests or later hooks; reading it before then throws `notRunning`. `extras` are served as they are.
 */
export function useStarted<T extends object, E extends object = object>(
  start: () => Promise<T>,
  stop: (resource: T) => Promise<void>,
  notRunning: string,
  extras?: E,
): T & E {
  let resource: T | undefined;
  beforeAll(async () => {
    resource = await start();
  });
  afterAll(async () => {
    if (resource) await stop(resource);
  });
  return new Proxy({} as T & E, {
    get(_target, property) {
      if (extras && property in extras) return extras[property as keyof E];
      if (!resource) throw new Error(notRunning);
      const value = resource[property as keyof T];
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(resource) : value;
    },
  });
}
