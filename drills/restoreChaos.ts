import { startAzurite } from "../dev/azurite/index.js";
import { sliceOf } from "../dev/emulator/providers/dataprotection/engine.js";
import { appView, callApi, settled, sleep, until } from "../bench/lib/app.js";
import type { Check, Runnable } from "../bench/lib/types.js";
import { SERVER_RG, SUBSCRIPTION, VAULT_PRINCIPAL, startWorld } from "../bench/lib/world.js";
import { mapWithConcurrency } from "../src/lib/util/concurrency.js";
import { createRestoreStore, endedRestoreStatuses, type RestoreRecord } from "../src/lib/store/restores.js";
import { startBlobFaultProxy } from "./lib/blobFaults.js";
import { seededRandom } from "./lib/events.js";
import { outcomeOf } from "./lib/state.js";

const BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
const ACCOUNT_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/pgflexdrill`;
const CONTAINER_ID = `${ACCOUNT_ID}/blobServices/default/containers/drill-restores`;
const RATES = { errorRate500: 0.05, errorRate503: 0.05, resetRate: 0.05 };

/**
 * Restore under chaos: protected servers, each with a completed backup, are restored as files through the API
 * while every ARM call (recovery points, the account, role assignments, validateRestore, restore, their LROs
 * and the Restore jobs) fails 15% of the time with 500/503/reset, and so does the blob listing that finds the
 * restored files. A client retries 5xx and unanswered requests. One Restore job per request, nothing lost,
 * every restore tracked to its end with its files.
 */
export const restoreChaos: Runnable = {
  name: "restore-chaos",
  title: "Restore under chaos: 5% 500 + 5% 503 + 5% resets on the restore calls and the blob listing",
  async run({ size, log }) {
    const serverCount = size === "tiny" ? 6 : 30;
    const faultSeed = Number(process.env.PGFLEX_DRILL_SEED ?? "") || 4243;
    const azurite = await startAzurite();
    const blobs = await startBlobFaultProxy(
      { port: azurite.blobPort, accountPath: "devstoreaccount1" },
      seededRandom(faultSeed),
    );
    const emulatorBlobs = azurite.connectionString.replace(
      /BlobEndpoint=[^;]+;/,
      `BlobEndpoint=${blobs.endpoint};`,
    );
    const world = await startWorld({
      timeScale: 1000,
      storage: azurite,
      queuePollIntervalInMs: 50,
      hostEnv: { PGFLEX_RESTORE_TARGETS: CONTAINER_ID },
      emulator: {
        // The emulator writes the restored files, and advertises the blob endpoint, through the fault proxy.
        blobConnectionString: emulatorBlobs,
        seed: {
          providers: {
            storage: {
              accounts: {
                drill: {
                  subscriptionId: SUBSCRIPTION,
                  resourceGroupName: "rg-restore",
                  name: "pgflexdrill",
                  location: "westeurope",
                  allowCrossTenantReplication: true,
                  publicNetworkAccess: "Enabled",
                  containers: ["drill-restores"],
                },
              },
            },
          },
        },
      },
    });
    try {
      const host = world.host;
      if (!host) throw new Error("no host");
      const control = world.emulator.control;
      const view = appView(world);
      const assignmentName = "0000ba92-0000-4000-8000-000000000001";
      const assignmentId = `${CONTAINER_ID}/providers/Microsoft.Authorization/roleAssignments/${assignmentName}`;
      world.emulator.core.state.roleAssignments.set(assignmentId.toLowerCase(), {
        id: assignmentId,
        name: assignmentName,
        scope: CONTAINER_ID,
        roleDefinitionId: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${BLOB_CONTRIBUTOR}`,
        principalId: VAULT_PRINCIPAL,
        principalType: "ServicePrincipal",
        createdOn: new Date().toISOString(),
        effectiveFromMs: 0,
      });

      // Protected and backed up, without faults: the chaos drill covers those.
      const names = Array.from({ length: serverCount }, (_, i) => `pg-restore-${String(i).padStart(3, "0")}`);
      const ids = await mapWithConcurrency(names, 4, (name) =>
        world.addServer(name, { tags: { backup: "weekly" }, publishEvent: true }),
      );
      await mapWithConcurrency(ids, 4, (id) => settled(view.servers, id));
      const operator = await world.tokens.mint({ roles: ["Backup.Operator"] });
      const restorer = await world.tokens.mint({ roles: ["Backup.Restore"] });
      await mapWithConcurrency(names, 4, async (name) => {
        const res = await callApi(host, `servers/${SUBSCRIPTION}/${SERVER_RG}/${name}/backups`, {
          method: "POST",
          token: operator,
          body: "{}",
        });
        if (res.status !== 202)
          throw new Error(`backup of ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      });
      await mapWithConcurrency(names, 4, (name) =>
        until(
          async () => {
            const res = await callApi(host, `servers/${SUBSCRIPTION}/${SERVER_RG}/${name}/recoveryPoints`, {
              token: restorer,
            });
            const value = (res.body as { value?: unknown[] } | undefined)?.value ?? [];
            return res.status === 200 && value.length ? true : undefined;
          },
          `a recovery point of ${name}`,
          { timeoutInMs: 120_000, intervalInMs: 100 },
        ),
      );
      log(`${serverCount} servers protected and backed up`);

      await control.setFaults({ seed: faultSeed, rules: [{ operation: "*", ...RATES }] });
      blobs.setRates(RATES);

      // One restore request per server; the client retries 5xx and unanswered requests, and a 409 naming the
      // running restore is that request's answer (an earlier attempt got through).
      const restoreIds = new Map<string, string>();
      const refused: string[] = [];
      let apiRetries = 0;
      await mapWithConcurrency(names, 4, async (name) => {
        let last = "";
        for (let attempt = 0; attempt < 200; attempt++) {
          let res: Awaited<ReturnType<typeof callApi>>;
          try {
            res = await callApi(host, `servers/${SUBSCRIPTION}/${SERVER_RG}/${name}/restores`, {
              method: "POST",
              token: restorer,
              body: JSON.stringify({ targetContainerId: CONTAINER_ID }),
            });
          } catch (e) {
            last = `no answer: ${String(e)}`;
            apiRetries++;
            await sleep(50);
            continue;
          }
          const body = res.body as { restoreId?: string; error?: { code?: string; target?: string } };
          if (res.status === 202 && body.restoreId) {
            restoreIds.set(name, body.restoreId);
            return;
          }
          const code = body.error?.code;
          if (
            (code === "RestoreAlreadyRunning" || code === "RestoreStartUnconfirmed") &&
            body.error?.target
          ) {
            restoreIds.set(name, body.error.target);
            return;
          }
          last = `${res.status} ${JSON.stringify(res.body)}`;
          if (res.status < 500) {
            refused.push(`${name}: ${last}`);
            return;
          }
          apiRetries++;
          await sleep(50);
        }
        refused.push(`${name}: never answered; last ${last}`);
      });
      log(`${restoreIds.size} restores started (${apiRetries} API retries, ${refused.length} refused)`);

      const store = createRestoreStore(view.connection);
      let cycles = 0;
      let trackFailures = 0;
      let records: Array<RestoreRecord | undefined> = [];
      for (; cycles < 600; cycles++) {
        try {
          await host.invoke("trackRestores");
        } catch {
          trackFailures++;
        }
        records = await Promise.all([...restoreIds.values()].map((id) => store.get(id)));
        if (records.every((r) => r && endedRestoreStatuses.includes(r.status))) break;
        await sleep(50);
      }
      await control.clearFaults();
      blobs.setRates({});

      const checks: Check[] = [];
      checks.push({
        name: "every restore request answered with a restore id (nothing lost)",
        passed: restoreIds.size === serverCount && refused.length === 0,
        detail: refused.length
          ? `${refused.length} refused, e.g. ${refused[0]}`
          : `${restoreIds.size} of ${serverCount}`,
      });
      const restoreJobs = Object.values(sliceOf(world.emulator.core.context).jobs).filter(
        (j) => j.operation === "Restore",
      );
      const perServer = new Map<string, number>();
      for (const j of restoreJobs)
        perServer.set(j.datasourceName, (perServer.get(j.datasourceName) ?? 0) + 1);
      const extra = [...perServer.entries()].filter(([, n]) => n > 1);
      checks.push({
        name: "one Restore job per request",
        passed: restoreJobs.length === restoreIds.size && extra.length === 0,
        detail: `${restoreJobs.length} Restore jobs in the vault for ${restoreIds.size} requests${extra.length ? `; ${extra[0]?.[0]} has ${extra[0]?.[1]}` : ""}`,
      });
      const unfinished = records.filter((r) => !r || r.status !== "Completed");
      const noFiles = records.filter(
        (r) => r?.status === "Completed" && !r.files?.some((f) => f.kind === "database"),
      );
      const jobIds = new Set(restoreJobs.map((j) => j.name.toLowerCase()));
      const untracked = records.filter(
        (r) => r && (!r.jobId || !jobIds.has(r.jobId.split("/").pop()?.toLowerCase() ?? "")),
      );
      let active = 0;
      for (const _ of await store.listActive()) active++;
      checks.push({
        name: "every restore tracked to its end, with its files and its job",
        passed: unfinished.length === 0 && noFiles.length === 0 && untracked.length === 0 && active === 0,
        detail:
          unfinished.length || noFiles.length || untracked.length
            ? `${unfinished.length} not Completed (e.g. ${JSON.stringify(unfinished[0] ? { status: unfinished[0].status, error: unfinished[0].errorCode, message: unfinished[0].errorMessage } : "missing")}), ${noFiles.length} without database files, ${untracked.length} without the vault's job`
            : `${records.length} Completed with database files, none active`,
      });
      const requests = await control.getRequests();
      return {
        outcome: outcomeOf(checks),
        checks,
        metrics: [
          {
            name: "Injected ARM faults (500/503/reset)",
            value: requests.filter((r) => r.fault).length,
            unit: "responses",
          },
          {
            name: "Injected blob listing faults",
            value: blobs.counts.faults,
            unit: "responses",
            note: `of ${blobs.counts.listings} listings`,
          },
          { name: "API retries by the client", value: apiRetries, unit: "requests" },
          {
            name: "Tracker cycles to end every restore",
            value: cycles + 1,
            unit: "cycles",
            note: `${trackFailures} cycles failed and were retried`,
          },
        ],
        parameters: { servers: serverCount, ...RATES, faultSeed, timeScale: 1000 },
        notes: [],
      };
    } finally {
      await world.stop();
      await blobs.close();
      await azurite.stop();
    }
  },
};
