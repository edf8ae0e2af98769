import type { AbortSignalLike } from "@azure/abort-controller";

/** The base of every `...Options` bag, as in the Azure SDK for JS: each call can be cancelled. */
export interface OperationOptions {
  abortSignal?: AbortSignalLike;
}
