import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustEmulatorCertificate } from "../../dev/emulator/index.js";
import { createServerStore } from "../../src/lib/store/servers.js";
import {
  aPgFlexPolicy,
  startWorld,
  sub,
  vaultId,
  vaultName,
  vaultRg,
  type DpWorld,
} from "../emulator/dataprotection/helpers.js";
import { useAzurite } from "../support/azurite.js";
import { useJwksServer } from "../support/jwks.js";
import { tablesAt } from "../support/tables.js";
import { useLocalHost } from "../support/localHost.js";
import { AUDIENCE, TENANT, aKeySet } from "../fixtures/jobs/tokens.js";
import { aServer } from "../fixtures/jobs/stores.js";

/**
 * The whole path through the local host: POST a backup with an operator token, run the pollJobs timer until
 * the job ends in the emulator, read it back; and the scheduledBackups timer starting a selected server.
 */
const keySet = await aKeySet();
const jwks = useJwksServer(keySet.jwks);
let world: DpWorld;
beforeAll(async () => {
  world = await startWorld({ timeScale: 4000 });
  trustEmulatorCertificate(world.emulator.caCert);
  await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
});
afterAll(async () => {
  await world?.stop();
});

const azurite = useAzurite();
const host = useLocalHost(() => ({
  env: {
    AzureWebJobsStorage: azurite.connectionString,
    PGFLEX_SCOPES: sub,
    PGFLEX_AUTH_TENANT_ID: TENANT,
    PGFLEX_AUTH_AUDIENCE: AUDIENCE,
    PGFLEX_AUTH_JWKS_URI: jwks.url,
    PGFLEX_ARM_ENDPOINT: world.emulator.url,
    PGFLEX_ARM_CREDENTIAL: "emulator",
    PGFLEX_SCHEDULED_BACKUPS: JSON.stringify([
      { name: "weekly-gold", tag: "backup", value: "gold", schedule: weeklyDueNow() },
    ]),
  },
}));

/** A weekly NCRONTAB whose last slot was a minute ago: due on the timer's first run (it looks 5 minutes back). */
function weeklyDueNow(): string {
  const at = new Date(Date.now() - 60_000);
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * ${at.getUTCDay()}`;
}

async function protect(name: string, tagValue: string): Promise<void> {
  const serverId = await world.protectServer(name);
  await createServerStore(tablesAt(azurite.connectionString)).create(
    aServer(name, {
      resourceId: serverId,
      instanceName: `${name}-bi`,
      vaultId: vaultId.toLowerCase(),
      tagValue,
    }),
  );
}

async function call(path: string, init: { method?: string; token: string; body?: string }) {
  const res = await fetch(new URL(`/api/${path}`, host.url), {
    method: init.method ?? "GET",
    headers: {
      "x-functions-key": host.functionKey,
      authorization: `Bearer ${init.token}`,
      ...(init.body ? { "content-type": "application/json" } : {}),
    },
    ...(init.body ? { body: init.body } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("backups end to end through the local host and the emulator", () => {
  it("starts a backup over HTTP and the pollJobs timer follows it to Completed", async () => {
    await protect("pg-e2e", "weekly");
    const operator = await keySet.mint({ roles: ["Backup.Operator"] });
    const started = await call(`servers/${sub}/rg-db/pg-e2e/backups`, {
      method: "POST",
      token: operator,
      body: '{"reason":"e2e"}',
    });
    expect(started.status).toBe(202);
    const jobId = String(started.body.jobId);
    // Time-scaled, the job may already have ended by the time Azure's accept operation was polled to its end.
    expect(started.body).toEqual({
      jobId,
      status: expect.stringMatching(/^(InProgress|Completed)$/),
      statusUrl: `${host.url}/api/jobs/${jobId}`,
    });

    const reader = await keySet.mint({ roles: ["Backup.Reader"] });
    let job = (await call(`jobs/${jobId}`, { token: reader })).body;
    for (let i = 0; i < 100 && job.status !== "Completed"; i++) {
      await host.invoke("pollJobs");
      job = (await call(`jobs/${jobId}`, { token: reader })).body;
    }
    expect(job).toMatchObject({
      jobId,
      status: "Completed",
      origin: "api",
      reason: "e2e",
      bytesTransferred: 69_088,
    });
    const server = await call(`servers/${sub}/rg-db/pg-e2e`, { token: reader });
    expect(server.body).toMatchObject({ state: "Protected", lastBackup: { jobId, status: "Completed" } });
  });

  it("refuses a second backup in the week with this week's backup time, and starts it when forced, with a warning", async () => {
    const operator = await keySet.mint({ roles: ["Backup.Operator"] });
    const reader = await keySet.mint({ roles: ["Backup.Reader"] });
    const first = (
      await call(`jobs?server=${encodeURIComponent(aServer("pg-e2e").resourceId)}`, { token: reader })
    ).body.value as Array<{ jobId: string; startTime: string }>;
    const done = first[0]!;
    const weekStart = new Date(Date.parse(done.startTime));
    weekStart.setUTCHours(0, 0, 0, 0);
    weekStart.setUTCDate(weekStart.getUTCDate() - weekStart.getUTCDay());
    const next = new Date(weekStart.getTime() + 7 * 86_400_000).toISOString();
    const at = new Date(done.startTime).toISOString();

    // The poller writes the job's final row, then releases its running claim: until then the answer is
    // BackupAlreadyRunning (a different refusal), so wait for the release before asking for this week's limit.
    let refused = await call(`servers/${sub}/rg-db/pg-e2e/backups`, { method: "POST", token: operator });
    for (
      let i = 0;
      i < 100 && (refused.body.error as { code?: string } | undefined)?.code === "BackupAlreadyRunning";
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      refused = await call(`servers/${sub}/rg-db/pg-e2e/backups`, { method: "POST", token: operator });
    }
    expect(refused).toEqual({
      status: 409,
      body: {
        error: {
          code: "WeeklyBackupLimit",
          message: `pg-e2e already had this week's vaulted backup at ${at} (job ${done.jobId}, Completed): Azure Backup takes one vaulted backup a week of a PostgreSQL flexible server; later ones in the same week fail (weeks counted from Sunday 00:00 UTC). The next backup is possible from ${next}.`,
          target: aServer("pg-e2e").resourceId,
          fix: `Wait until ${next}, or send {"force": true} to start it anyway; Azure is expected to fail it.`,
          thisWeeksBackupAt: at,
          thisWeeksBackupJobId: done.jobId,
          scheduled: false,
          nextBackupPossibleAt: next,
        },
      },
    });

    const forced = await call(`servers/${sub}/rg-db/pg-e2e/backups`, {
      method: "POST",
      token: operator,
      body: '{"force":true}',
    });
    expect(forced.status).toBe(202);
    expect(forced.body.warning).toBe(
      `Started despite the weekly limit: pg-e2e already had this week's vaulted backup at ${at} (job ${done.jobId}), so Azure is expected to fail this one. The next backup is possible from ${next}.`,
    );
    // Azure (here the emulator) runs the first vaulted backup of the week only.
    const jobId = String(forced.body.jobId);
    let job = (await call(`jobs/${jobId}`, { token: reader })).body;
    for (let i = 0; i < 100 && job.status !== "Failed"; i++) {
      await host.invoke("pollJobs");
      job = (await call(`jobs/${jobId}`, { token: reader })).body;
    }
    expect(job).toMatchObject({ status: "Failed", error: { code: "UserErrorWeeklyBackupLimitReached" } });
  });

  it("refuses force that is not a boolean, naming the field", async () => {
    const operator = await keySet.mint({ roles: ["Backup.Operator"] });
    const res = await call(`servers/${sub}/rg-db/pg-e2e/backups`, {
      method: "POST",
      token: operator,
      body: '{"force":"yes"}',
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain("force");
  });

  it("starts the servers a schedule selects when the scheduledBackups timer runs", async () => {
    await protect("pg-gold", "gold");
    await host.invoke("scheduledBackups");
    const reader = await keySet.mint({ roles: ["Backup.Reader"] });
    const list = await call(`jobs?server=${encodeURIComponent(aServer("pg-gold").resourceId)}`, {
      token: reader,
    });
    expect(list.body.value).toEqual([
      expect.objectContaining({ origin: "schedule", schedule: "weekly-gold", serverName: "pg-gold" }),
    ]);
  });
});
