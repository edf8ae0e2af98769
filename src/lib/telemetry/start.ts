/**
 * Starts OpenTelemetry for the process, loading its SDKs with `import()` only when telemetry is on (cold
 * start stays light when it is off): Azure Monitor with Entra authentication when a connection string is
 * set, the console when asked for locally, nothing otherwise.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { Telemetry } from "./index.js";

export interface TelemetrySettings {
  /** `APPLICATIONINSIGHTS_CONNECTION_STRING`; empty: not to Azure Monitor. */
  telemetryConnectionString: string;
  /** `PGFLEX_TELEMETRY_CONSOLE`: print metrics and spans locally. */
  telemetryConsole: boolean;
}

/** How often the console exporter prints the metrics (Azure Monitor's distro exports every minute). */
const CONSOLE_EXPORT_INTERVAL_IN_MS = 60_000;

/** The started telemetry, or undefined when it is off. Azure Monitor is started at most once per process. */
export async function startTelemetry(
  settings: TelemetrySettings,
  credential: () => Promise<TokenCredential>,
): Promise<Telemetry | undefined> {
  if (settings.telemetryConnectionString) {
    azureMonitor ??= startAzureMonitor(settings.telemetryConnectionString, credential);
    return azureMonitor;
  }
  if (settings.telemetryConsole) return startConsole();
  return undefined;
}

let azureMonitor: Promise<Telemetry> | undefined;

async function startAzureMonitor(
  connectionString: string,
  credential: () => Promise<TokenCredential>,
): Promise<Telemetry> {
  const [{ useAzureMonitor }, api, { createOtelTelemetry, instrumentationScope }] = await Promise.all([
    import("@azure/monitor-opentelemetry"),
    import("@opentelemetry/api"),
    import("./otel.js"),
  ]);
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, credential: await credential() },
    // Logs keep flowing through the Functions host as before; the console is not collected twice.
    instrumentationOptions: { console: { enabled: false } },
  });
  return createOtelTelemetry(
    api.metrics.getMeter(instrumentationScope),
    api.trace.getTracer(instrumentationScope),
  );
}

async function startConsole(): Promise<Telemetry> {
  const [metricsSdk, traceSdk, { createOtelTelemetry, instrumentationScope }] = await Promise.all([
    import("@opentelemetry/sdk-metrics"),
    import("@opentelemetry/sdk-trace-base"),
    import("./otel.js"),
  ]);
  const meters = new metricsSdk.MeterProvider({
    readers: [
      new metricsSdk.PeriodicExportingMetricReader({
        exporter: new metricsSdk.ConsoleMetricExporter(),
        exportIntervalMillis: CONSOLE_EXPORT_INTERVAL_IN_MS,
      }),
    ],
  });
  const tracers = new traceSdk.BasicTracerProvider({
    spanProcessors: [new traceSdk.SimpleSpanProcessor(new traceSdk.ConsoleSpanExporter())],
  });
  return createOtelTelemetry(meters.getMeter(instrumentationScope), tracers.getTracer(instrumentationScope));
}
