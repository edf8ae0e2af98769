/**
 * The base of every `...Options` bag, as in the Azure SDK for JS: each call can be cancelled. Node's own
 * `AbortSignal` rather than the SDK's `AbortSignalLike`: the app calls `throwIfAborted()` and combines
 * signals with `AbortSignal.any`, and an `AbortSignal` is accepted wherever the SDK asks for the narrower type.
 */
export interface OperationOptions {
  abortSignal?: AbortSignal;
}
