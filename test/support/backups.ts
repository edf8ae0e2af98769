import type { BackupGateway } from "../../src/lib/backups/gateway.js";
import {
  createBackupService,
  type BackupService,
  type BackupServiceDeps,
} from "../../src/lib/backups/service.js";

/** The backup service over the stores of `storage` (servers, jobs, active jobs), starting through `gateway`. */
export function backupServiceOver(
  storage: Pick<BackupServiceDeps, "servers" | "jobs" | "activeJobs">,
  gateway: BackupGateway,
  scopes: readonly string[],
): BackupService {
  return createBackupService({
    servers: storage.servers,
    jobs: storage.jobs,
    activeJobs: storage.activeJobs,
    gateway,
    scopes,
  });
}
