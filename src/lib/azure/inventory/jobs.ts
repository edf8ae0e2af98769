import { lower } from "./normalize.js";
import type { ListOptions, PageStream, RawJob, ResourceGraphQuery } from "./types.js";

/**
 * Reading a vault's backup jobs without `$filter`, which `GET …/backupJobs` does not have (the 2024-04-01
 * spec gives it no query parameter but `api-version`; az CLI sends none).
 *
 * - The ARM list is read whole: the spec does not say in which order it answers (its one example is oldest
 *   first), so no page can be skipped; items older than the cutoff are dropped here and a job met twice (on
 *   two pages while the list moves) is given once ({@link cutOffAndDeduplicate}).
 * - Resource Graph answers time-bounded reads in one paged query across vaults and subscriptions, the query
 *   Az PowerShell's `Search-AzDataProtectionJobInAzGraph` sends ({@link resourceGraphJobsQuery}).
 */

/** Resource Graph type of Data Protection backup jobs (table `RecoveryServicesResources`). */
export const BACKUP_JOB_TYPE = "microsoft.dataprotection/backupvaults/backupjobs";
const PG_FLEX_DATASOURCE_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers";

/** Rows per Resource Graph page (the service's maximum). */
const PAGE_SIZE = 1000;

/**
 * KQL for the PostgreSQL Flexible Server backup jobs started after `since` (all when undefined), in the form
 * Az PowerShell's `Search-AzDataProtectionJobInAzGraph -DatasourceType AzureDatabaseForPGFlexServer
 * -StartTime` sends it: table `RecoveryServicesResources`, the job type, `properties.dataSourceType` and
 * `properties.startTime > datetime(…)`.
 */
export function resourceGraphJobsQuery(since: Date | undefined): string {
  return [
    `RecoveryServicesResources | where type =~ '${BACKUP_JOB_TYPE}'`,
    "extend vaultName = properties.vaultName",
    `where properties.dataSourceType in~ ('${PG_FLEX_DATASOURCE_TYPE}')`,
    ...(since ? [`where properties.startTime > datetime(${since.toISOString()})`] : []),
    "project id, name, type, subscriptionId, resourceGroup, vaultName, properties",
  ].join(" | ");
}

/** Lower-cased id of the vault a job id (`…/backupVaults/{vault}/backupJobs/{id}`) belongs to. */
export function vaultOfJob(jobId: string | undefined): string | undefined {
  const id = lower(jobId);
  const cut = id.indexOf("/backupjobs/");
  return cut > 0 ? id.slice(0, cut) : undefined;
}

/** The job's identity for de-duplication: its ARM id, else its name. */
const jobKey = (job: { id?: string; name?: string }): string | undefined =>
  lower(job.id ?? job.name) || undefined;

/**
 * Pages of an unfiltered job list with jobs started before `since` dropped and each job given once. Every
 * page is still read: nothing in the spec orders the list, so a later page may hold a newer job.
 */
export async function* cutOffAndDeduplicate<
  T extends { id?: string; name?: string; properties?: { startTime?: string } },
>(pages: AsyncIterable<T[]>, since: Date | undefined): AsyncIterable<T[]> {
  const seen = new Set<string>();
  const from = since?.getTime() ?? Number.NEGATIVE_INFINITY;
  for await (const page of pages) {
    const kept: T[] = [];
    for (const job of page) {
      const started = Date.parse(job.properties?.startTime ?? "");
      if (started < from) continue;
      const k = jobKey(job);
      if (k) {
        if (seen.has(k)) continue;
        seen.add(k);
      }
      kept.push(job);
    }
    yield kept;
  }
}

/**
 * Backup jobs of PostgreSQL Flexible Servers started after `since` in the given subscriptions' vaults, from
 * Resource Graph: one paged query (each page counts as one request), each job once, grouped by lower-cased
 * vault id. Throws when a page fails (the caller decides what an unread history means).
 */
export async function queryJobsByVault(
  query: ResourceGraphQuery,
  subscriptions: readonly string[],
  since: Date | undefined,
  options: ListOptions & { onPage?: () => void } = {},
): Promise<Map<string, RawJob[]>> {
  const byVault = new Map<string, RawJob[]>();
  for await (const page of cutOffAndDeduplicate(
    graphPages(query, subscriptions, since, options),
    undefined,
  )) {
    for (const job of page) {
      const vault = vaultOfJob(job.id);
      if (!vault) continue;
      const list = byVault.get(vault) ?? [];
      list.push(job);
      byVault.set(vault, list);
    }
  }
  return byVault;
}

async function* graphPages(
  query: ResourceGraphQuery,
  subscriptions: readonly string[],
  since: Date | undefined,
  options: ListOptions & { onPage?: () => void },
): PageStream<RawJob> {
  const kql = resourceGraphJobsQuery(since);
  let skipToken: string | undefined;
  do {
    options.abortSignal?.throwIfAborted();
    options.onPage?.();
    const page = await query(
      { query: kql, subscriptions: [...subscriptions], top: PAGE_SIZE, ...(skipToken ? { skipToken } : {}) },
      options,
    );
    yield page.data as RawJob[];
    skipToken = page.skipToken || undefined;
  } while (skipToken);
}
