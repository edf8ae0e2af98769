import type { EmulatorSeed } from "../../dev/emulator/index.js";
import { largeEstate } from "../../test/fixtures/compliance/emulatorEstate.js";

/**
 * The benchmark estate of `largeEstate` (one region, every server protected, last week's job each) with its
 * servers spread round-robin over `vaults` Backup vaults, themselves spread over the subscriptions (vault i in
 * subscription i mod subscriptions, with server n in vault n mod vaults and in the vault's subscription). Each
 * vault gets its own copy of the weekly policy; instances and jobs move to their server's vault.
 */
export function vaultsEstate(options: {
  servers: number;
  subscriptions: number;
  vaults: number;
  now: number;
  /** Also one on-demand backup per server still running, started at this time and lasting a week. */
  inFlightStartedAt?: number;
}): {
  seed: EmulatorSeed;
  subscriptionIds: string[];
  serverIds: string[];
  vaultIds: string[];
  /** Vault (ARM id casing) of each server, by server id. */
  vaultOfServer: Map<string, string>;
  /** The running jobs (`inFlightStartedAt`): bare GUID, server, vault (ARM id casing) and start time. */
  inFlight: Array<{ jobId: string; serverId: string; vaultId: string; startMs: number }>;
} {
  if (options.vaults % options.subscriptions !== 0)
    throw new RangeError(
      "vaults must be a multiple of subscriptions (each server shares its vault's subscription).",
    );
  const base = largeEstate({
    servers: options.servers,
    subscriptions: options.subscriptions,
    regions: 1,
    now: options.now,
    protectedShare: 1,
  });
  const dp = (base.seed.providers as { dataprotection: Record<string, Record<string, unknown>> })
    .dataprotection;
  const [template] = base.vaultIds;
  if (!template) throw new Error("largeEstate made no vault.");
  const templateKey = template.toLowerCase();
  const vaultIds = Array.from({ length: options.vaults }, (_, i) => {
    const sub = base.subscriptionIds[i % options.subscriptions] as string;
    return `/subscriptions/${sub}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-${String(i).padStart(3, "0")}`;
  });
  /** The object with every mention of the template vault replaced by `vaultId`. */
  const moved = <T>(value: T, vaultId: string): T =>
    JSON.parse(
      JSON.stringify(value).replaceAll(template, vaultId).replaceAll(templateKey, vaultId.toLowerCase()),
    ) as T;
  const rekey = (records: Record<string, unknown>, vaultFor: (record: unknown) => string | undefined) => {
    const out: Record<string, unknown> = {};
    for (const record of Object.values(records)) {
      const vaultId = vaultFor(record);
      if (!vaultId) continue;
      const m = moved(record, vaultId) as { id: string };
      out[m.id.toLowerCase()] = m;
    }
    return out;
  };
  const vaultTemplate = dp.vaults?.[templateKey] as Record<string, unknown>;
  const policyTemplate = Object.values(dp.policies ?? {})[0];
  const vaults: Record<string, unknown> = {};
  const policies: Record<string, unknown> = {};
  vaultIds.forEach((id, i) => {
    vaults[id.toLowerCase()] = {
      ...moved(vaultTemplate, id),
      name: id.slice(id.lastIndexOf("/") + 1),
      subscriptionId: base.subscriptionIds[i % options.subscriptions],
    };
    const p = moved(policyTemplate, id) as { id: string };
    policies[p.id.toLowerCase()] = p;
  });
  const vaultOfServer = new Map<string, string>();
  base.serverIds.forEach((id, n) =>
    vaultOfServer.set(id.toLowerCase(), vaultIds[n % options.vaults] as string),
  );
  const byDatasource = (record: unknown) => {
    const r = record as { datasourceKey?: string; datasourceId?: string };
    return vaultOfServer.get((r.datasourceKey ?? r.datasourceId ?? "").toLowerCase());
  };
  const jobs = rekey(dp.jobs ?? {}, byDatasource);
  const inFlight: Array<{ jobId: string; serverId: string; vaultId: string; startMs: number }> = [];
  if (options.inFlightStartedAt !== undefined) {
    const startMs = options.inFlightStartedAt;
    let n = 0;
    for (const finished of Object.values(jobs) as Array<Record<string, unknown>>) {
      const vaultId = String(finished.id).slice(0, String(finished.id).indexOf("/backupJobs/"));
      const guid = `00000000-0000-4000-9000-${String(n++).padStart(12, "0")}`;
      const id = `${vaultId}/backupJobs/${guid}`;
      jobs[id.toLowerCase()] = {
        ...finished,
        id,
        name: guid,
        activityId: guid,
        operation: "OnDemandBackup",
        isUserTriggered: true,
        startMs,
        endMs: startMs + 7 * 86_400_000,
        status: "InProgress",
        outcome: { status: "Completed" },
        dataTransferredInBytes: 0,
      };
      inFlight.push({ jobId: guid, serverId: String(finished.datasourceId), vaultId, startMs });
    }
  }
  return {
    inFlight,
    subscriptionIds: base.subscriptionIds,
    serverIds: base.serverIds,
    vaultIds,
    vaultOfServer,
    seed: {
      ...base.seed,
      providers: {
        ...base.seed.providers,
        dataprotection: {
          ...dp,
          vaults,
          policies,
          instances: rekey(dp.instances ?? {}, byDatasource),
          jobs,
        },
      },
    },
  };
}
