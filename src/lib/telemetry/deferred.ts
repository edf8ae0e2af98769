/**
 * Telemetry that starts in the background: Azure Monitor's distro takes seconds of CPU to load, more than a
 * cold start may spend, so the app is built without waiting for it. Counts, records and gauges made before
 * it is ready are kept (up to a bound) and replayed; spans started before then run untraced.
 */
import type { Telemetry } from "./index.js";

/** Calls kept while the SDK loads; beyond this the oldest are dropped (a start that never ends costs no memory). */
const MAX_BUFFERED_CALLS = 10_000;

export interface DeferredTelemetry extends Telemetry {
  /** Settles once the started telemetry receives the calls (or telemetry stays off). */
  readonly ready: Promise<void>;
}

export function createDeferredTelemetry(started: Promise<Telemetry | undefined>): DeferredTelemetry {
  let target: Telemetry | undefined;
  let buffered: Array<(t: Telemetry) => void> | undefined = [];
  const call = (f: (t: Telemetry) => void) => {
    if (target) return f(target);
    if (!buffered) return;
    buffered.push(f);
    if (buffered.length > MAX_BUFFERED_CALLS) buffered.shift();
  };
  const ready = started.then(
    (t) => {
      target = t;
      for (const f of (t && buffered) || []) f(t as Telemetry);
      buffered = undefined;
    },
    () => {
      buffered = undefined;
    },
  );
  return {
    ready,
    count: (name, attributes, value) => call((t) => t.count(name, attributes, value)),
    record: (name, value, attributes) => call((t) => t.record(name, value, attributes)),
    observe: (name, points, key) => call((t) => t.observe(name, points, key)),
    span: (name, attributes, fn) => (target ? target.span(name, attributes, fn) : fn()),
  };
}
