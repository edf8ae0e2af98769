/** The telemetry port over OpenTelemetry's API: one instrument per {@link Metrics} entry, spans on a tracer. */
import type { Counter, Histogram, Meter, Tracer } from "@opentelemetry/api";
import { SpanStatusCode } from "@opentelemetry/api";
import { ensureError } from "../errors.js";
import type { GaugeName, GaugePoint, Telemetry } from "./index.js";
import { Metrics } from "./index.js";

export const instrumentationScope = "pgflex-autoprotect";

export function createOtelTelemetry(meter: Meter, tracer: Tracer): Telemetry {
  const counters = new Map<string, Counter>();
  const histograms = new Map<string, Histogram>();
  /** Gauge name → series key → points (key "" holds the series a whole-set `observe` replaced). */
  const gauges = new Map<string, Map<string, readonly GaugePoint[]>>();
  for (const m of Object.values(Metrics)) {
    const options = { unit: m.unit, description: m.description };
    if (m.kind === "counter") counters.set(m.name, meter.createCounter(m.name, options));
    else if (m.kind === "histogram") histograms.set(m.name, meter.createHistogram(m.name, options));
    else {
      const series = new Map<string, readonly GaugePoint[]>();
      gauges.set(m.name, series);
      meter.createObservableGauge(m.name, options).addCallback((result) => {
        for (const points of series.values()) {
          for (const p of points)
            result.observe(typeof p.value === "function" ? p.value() : p.value, p.attributes);
        }
      });
    }
  }
  return {
    count: (name, attributes, value = 1) => counters.get(name)?.add(value, attributes),
    record: (name, value, attributes) => histograms.get(name)?.record(value, attributes),
    observe(name: GaugeName, points, key) {
      const series = gauges.get(name);
      if (!series) return;
      if (key === undefined) {
        series.clear();
        series.set("", points);
      } else if (points.length) series.set(key, points);
      else series.delete(key);
    },
    span: (name, attributes, fn) =>
      tracer.startActiveSpan(name, { attributes }, async (span) => {
        try {
          return await fn();
        } catch (e) {
          const error = ensureError(e);
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          throw e;
        } finally {
          span.end();
        }
      }),
  };
}
