import type { BackupJob } from "../lib/azure/backupOperations.js";
import { parseDurationInMs } from "../lib/azure/durations.js";
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
  // The service's own `duration` when filled in (as the job history records it), else end less start.
  const durationInMs = end
    ? parseDurationInMs(properties?.duration) || Date.parse(end) - Date.parse(properties?.startTime ?? end)
    : undefined;
  return {
    jobId: job.name ?? lastSegment(job.id),
    status: properties?.status ?? "Unknown",
    server: properties?.dataSourceName ?? lastSegment(properties?.dataSourceId),
    serverId: (properties?.dataSourceId ?? "").toLowerCase(),
    operation: properties?.operation ?? properties?.operationCategory ?? "",
    startTime: properties?.startTime ?? "",
    ...(end ? { endTime: end, durationInMs } : {}),
    ...(error ? { error: (error as { message?: string }).message ?? JSON.stringify(error) } : {}),
  };
}
