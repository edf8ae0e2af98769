import type { BackupJob } from "../lib/backups/gateway.js";
import { lastSegment } from "./format.js";

/** A backup job as `backup --wait` and `jobs` print it. */
export interface JobView {
  jobId: string;
  status: string;
  server: string;
  serverId: string;
  operation: string;
  startTime: string;
  endTime?: string;
  durationInMs?: number;
  error?: string;
}

export function jobView(job: BackupJob): JobView {
  const properties = job.properties;
  const end = properties?.endTime ?? undefined;
  const error = properties?.errorDetails?.[0];
  return {
    jobId: job.name ?? lastSegment(job.id),
    status: properties?.status ?? "Unknown",
    server: properties?.dataSourceName ?? lastSegment(properties?.dataSourceId),
    serverId: (properties?.dataSourceId ?? "").toLowerCase(),
    operation: properties?.operation ?? properties?.operationCategory ?? "",
    startTime: properties?.startTime ?? "",
    ...(end
      ? { endTime: end, durationInMs: Date.parse(end) - Date.parse(properties?.startTime ?? end) }
      : {}),
    ...(error ? { error: (error as { message?: string }).message ?? JSON.stringify(error) } : {}),
  };
}
