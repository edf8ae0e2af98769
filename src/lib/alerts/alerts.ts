import { ensureError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { AlertRecord, AlertStore } from "../store/alerts.js";
import type { JobRecord } from "../store/jobs.js";
import type { ServerRecord } from "../store/servers.js";
import type { OperationOptions } from "../util/options.js";

/** Where an alert goes: the Event Grid topic (CloudEvents) and/or a chat webhook. */
export interface AlertPublisher {
  readonly name: string;
  publish(alert: AlertRecord, options?: OperationOptions): Promise<void>;
}

/** What an alert says; the store adds when it was raised and how its delivery stands. */
export type AlertInput = Pick<
  AlertRecord,
  "kind" | "dedupKey" | "serverId" | "jobId" | "title" | "message" | "recommendedAction"
>;

export interface Alerter {
  /** Raises the alert unless one with the same kind and key was raised before; true when this call raised it. */
  raise(input: AlertInput, options?: OperationOptions): Promise<boolean>;
  /** Re-sends alerts whose delivery failed earlier; returns how many are now delivered. */
  retryPending(options?: OperationOptions): Promise<number>;
}

export interface AlerterDeps {
  store: AlertStore;
  publishers: readonly AlertPublisher[];
  now?: () => Date;
  logger?: Logger;
}

export function createAlerter(deps: AlerterDeps): Alerter {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? silentLogger;

  async function deliver(alert: AlertRecord, options: OperationOptions): Promise<boolean> {
    const errors: string[] = [];
    for (const p of deps.publishers) {
      try {
        await p.publish(alert, options);
      } catch (e) {
        errors.push(`${p.name}: ${ensureError(e).message}`);
      }
    }
    const next: AlertRecord = {
      ...alert,
      attempts: alert.attempts + 1,
      state: errors.length ? "pending" : "sent",
      ...(errors.length ? { lastError: errors.join("; ").slice(0, 1000) } : {}),
    };
    if (errors.length)
      logger.warn(
        `Alert ${alert.kind} ${alert.dedupKey} not delivered; retried next cycle: ${next.lastError}`,
      );
    try {
      await deps.store.update(next, options);
    } catch (e) {
      logger.warn(`Could not record delivery of alert ${alert.dedupKey}: ${ensureError(e).message}`);
    }
    return errors.length === 0;
  }

  return {
    async raise(input, options = {}) {
      const created = await deps.store.tryCreate(
        { ...input, raisedAt: now().toISOString(), state: "pending", attempts: 0 },
        options,
      );
      if (!created) return false;
      await deliver(created, options);
      return true;
    },
    async retryPending(options = {}) {
      let delivered = 0;
      for (const alert of await deps.store.listPending(options)) {
        if (await deliver(alert, options)) delivered++;
      }
      return delivered;
    },
  };
}

/** The alert for a failed job: one per job id. */
export function jobFailedAlert(job: JobRecord): AlertInput {
  return {
    kind: "JobFailed",
    dedupKey: job.jobId,
    serverId: job.serverId,
    jobId: job.jobId,
    title: `Backup of ${job.serverName} failed`,
    message: `Backup job ${job.jobId} of ${job.serverId} ended ${job.status}${job.errorCode ? ` with ${job.errorCode}` : ""}${job.errorMessage ? `: ${job.errorMessage}` : "."}`,
    ...(job.recommendedAction ? { recommendedAction: job.recommendedAction } : {}),
  };
}

/** The alert for a server without a recent successful backup: one per server and last success. */
export function staleBackupAlert(
  serverId: string,
  serverName: string,
  lastSuccess: string | undefined,
  limitInMs: number,
): AlertInput {
  const hours = Math.round(limitInMs / 3_600_000);
  return {
    kind: "BackupStale",
    dedupKey: `${serverId.toLowerCase()}|${lastSuccess ?? "never"}`,
    serverId: serverId.toLowerCase(),
    title: `No recent backup of ${serverName}`,
    message: lastSuccess
      ? `The last successful backup of ${serverId} finished at ${lastSuccess}, more than ${hours} h ago (policy period plus grace).`
      : `${serverId} has no successful backup on record within ${hours} h of protection (policy period plus grace).`,
    recommendedAction:
      "Check the server's recent backup jobs in the Backup vault, then start an on-demand backup: POST /api/servers/{subscriptionId}/{resourceGroup}/{serverName}/backups.",
  };
}

/**
 * The alert for a server the app could not protect: one per server, stop (state and code) and the request
 * that ended there, so a redelivery does not repeat it and the worker raises it only on entering the stop.
 */
export function protectionFailedAlert(row: ServerRecord, cause: string): AlertInput {
  const code = row.lastErrorCode ?? row.state;
  return {
    kind: "ProtectionFailed",
    dedupKey: `${row.resourceId.toLowerCase()}|${row.state}|${code}|${cause}`,
    serverId: row.resourceId.toLowerCase(),
    title: `${row.serverName} is not protected: ${row.state}`,
    message: `${row.resourceId} is ${row.state} (${code})${row.lastErrorMessage ? `: ${row.lastErrorMessage}` : "."}`,
    ...(row.fix ? { recommendedAction: row.fix } : {}),
  };
}
