/** OpenTelemetry with in-memory exporters behind the app's telemetry port, for tests. */
import { MeterProvider, MetricReader, type DataPoint } from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-base";
import type { Telemetry } from "../../src/lib/telemetry/index.js";
import { createOtelTelemetry } from "../../src/lib/telemetry/otel.js";

class CollectingReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface InMemoryTelemetry {
  telemetry: Telemetry;
  /** Every data point of the metric named `name` at this collection (cumulative since the start). */
  points(name: string): Promise<Array<DataPoint<unknown>>>;
  spans(): ReadableSpan[];
}

export function anInMemoryTelemetry(): InMemoryTelemetry {
  const reader = new CollectingReader();
  const meters = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracers = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  return {
    telemetry: createOtelTelemetry(meters.getMeter("test"), tracers.getTracer("test")),
    async points(name) {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .filter((m) => m.descriptor.name === name)
        .flatMap((m) => m.dataPoints as Array<DataPoint<unknown>>);
    },
    spans: () => spans.getFinishedSpans(),
  };
}
