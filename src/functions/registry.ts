import { app } from "@azure/functions";
import type {
  EventGridFunctionOptions,
  HttpFunctionOptions,
  StorageQueueFunctionOptions,
  TimerFunctionOptions,
} from "@azure/functions";

/**
 * The one registration seam. Each function is declared here exactly once: the declaration is
 * registered with the Azure Functions host (`app.*`) and kept in {@link declarations}, which the
 * local host (dev/host) reads to serve the same functions with the same options and handlers.
 */
export type FunctionDeclaration =
  | { readonly kind: "http"; readonly name: string; readonly options: HttpFunctionOptions }
  | { readonly kind: "timer"; readonly name: string; readonly options: TimerFunctionOptions }
  | { readonly kind: "storageQueue"; readonly name: string; readonly options: StorageQueueFunctionOptions }
  | { readonly kind: "eventGrid"; readonly name: string; readonly options: EventGridFunctionOptions };

const registered = new Map<string, FunctionDeclaration>();

/** Every declared function, in declaration order. */
export function declarations(): readonly FunctionDeclaration[] {
  return [...registered.values()];
}

function declare(declaration: FunctionDeclaration): void {
  const key = declaration.name.toLowerCase();
  if (registered.has(key)) throw new Error(`Function "${declaration.name}" is declared twice.`);
  registered.set(key, declaration);
  switch (declaration.kind) {
    case "http":
      app.http(declaration.name, declaration.options);
      break;
    case "timer":
      app.timer(declaration.name, declaration.options);
      break;
    case "storageQueue":
      app.storageQueue(declaration.name, declaration.options);
      break;
    case "eventGrid":
      app.eventGrid(declaration.name, declaration.options);
      break;
  }
}

export function declareHttp(name: string, options: HttpFunctionOptions): void {
  declare({ kind: "http", name, options: { authLevel: "function", ...options } });
}

export function declareTimer(name: string, options: TimerFunctionOptions): void {
  declare({ kind: "timer", name, options });
}

export function declareStorageQueue(name: string, options: StorageQueueFunctionOptions): void {
  declare({
    kind: "storageQueue",
    name,
    options: { ...options, connection: options.connection || "AzureWebJobsStorage" },
  });
}

export function declareEventGrid(name: string, options: EventGridFunctionOptions): void {
  declare({ kind: "eventGrid", name, options });
}
