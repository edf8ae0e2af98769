import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { AzureKeyCredential } from "@azure/core-auth";
import { afterEach, describe, expect, it } from "vitest";
import { createAlerter, jobFailedAlert, staleBackupAlert } from "../../src/lib/alerts/alerts.js";
import { createEventGridPublisher, createWebhookPublisher } from "../../src/lib/alerts/publishers.js";
import { createStaleBackupCheck } from "../../src/lib/backups/outcomes.js";
import type { JobRecord } from "../../src/lib/store/jobs.js";
import { useAzurite } from "../support/azurite.js";
import { aServer, aStorage, serverId } from "../fixtures/jobs/stores.js";

const azurite = useAzurite();

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** A local stand-in for the Event Grid topic and the chat webhook: records what it receives. */
async function aReceiver(status = 200) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(text) as unknown });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receivers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url, received };
}
const receivers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((close) => close()));
});

const failedJob: JobRecord = {
  jobId: "984f46df-cf32-4880-a934-5a4dbad70eab",
  serverId: serverId("pg-one"),
  serverName: "pg-one",
  vaultId: "v",
  origin: "api",
  status: "Failed",
  startTime: "2026-11-25T10:00:00.000Z",
  endTime: "2026-11-25T10:05:00.000Z",
  errorCode: "UserErrorMissingRequiredPermissions",
  errorMessage: "Missing role.",
  recommendedAction: "Grant the role.",
  updatedAt: "2026-11-25T10:05:00.000Z",
};

describe("alerts", () => {
  it("publishes a failed job once as a CloudEvent and to the webhook, however often it is raised", async () => {
    const topic = await aReceiver();
    const hook = await aReceiver();
    const storage = aStorage(azurite.connectionString);
    const alerter = createAlerter({
      store: storage.alerts,
      publishers: [
        createEventGridPublisher({
          endpoint: `${topic.url}/api/events`,
          credential: new AzureKeyCredential("local-key"),
        }),
        createWebhookPublisher({ url: `${hook.url}/webhook` }),
      ],
      now: () => new Date("2026-11-25T10:06:00.000Z"),
    });

    expect(await alerter.raise(jobFailedAlert(failedJob))).toBe(true);
    expect(await alerter.raise(jobFailedAlert(failedJob))).toBe(false);

    expect(topic.received).toHaveLength(1);
    expect(topic.received[0]?.headers["content-type"]).toContain("application/cloudevents-batch+json");
    expect(topic.received[0]?.body).toEqual([
      expect.objectContaining({
        specversion: "1.0",
        type: "PgFlexAutoProtect.Alert.JobFailed",
        source: "/pgflex-autoprotect",
        subject: serverId("pg-one"),
        id: "JobFailed:984f46df-cf32-4880-a934-5a4dbad70eab",
        data: {
          kind: "JobFailed",
          serverId: serverId("pg-one"),
          jobId: failedJob.jobId,
          title: "Backup of pg-one failed",
          message: `Backup job ${failedJob.jobId} of ${serverId("pg-one")} ended Failed with UserErrorMissingRequiredPermissions: Missing role.`,
          recommendedAction: "Grant the role.",
          raisedAt: "2026-11-25T10:06:00.000Z",
        },
      }),
    ]);
    expect(hook.received).toHaveLength(1);
    expect((hook.received[0]?.body as { text: string }).text).toBe(
      `**Backup of pg-one failed**\nBackup job ${failedJob.jobId} of ${serverId("pg-one")} ended Failed with UserErrorMissingRequiredPermissions: Missing role.\nRecommended action: Grant the role.`,
    );
  });

  it("keeps an undelivered alert pending and delivers it on retry", async () => {
    const storage = aStorage(azurite.connectionString);
    let up = false;
    const sent: string[] = [];
    const alerter = createAlerter({
      store: storage.alerts,
      publishers: [
        {
          name: "flaky",
          publish: async (a) => {
            if (!up) throw new Error("topic unavailable");
            sent.push(a.dedupKey);
          },
        },
      ],
    });
    await alerter.raise(jobFailedAlert(failedJob));
    expect(await storage.alerts.listPending()).toMatchObject([
      { state: "pending", attempts: 1, lastError: "flaky: topic unavailable" },
    ]);
    up = true;
    expect(await alerter.retryPending()).toBe(1);
    expect(sent).toEqual([failedJob.jobId]);
    expect(await storage.alerts.listPending()).toEqual([]);
  });

  it("raises one stale-backup alert for a protected server whose last success is older than the period plus grace", async () => {
    const storage = aStorage(azurite.connectionString);
    const raised: string[] = [];
    const alerter = createAlerter({
      store: storage.alerts,
      publishers: [{ name: "c", publish: async (a) => void raised.push(a.message) }],
    });
    await storage.servers.create(aServer("pg-old"));
    await storage.servers.create(aServer("pg-fresh"));
    await storage.jobs.saveAll([
      {
        ...failedJob,
        jobId: "00000000-0000-0000-0000-000000000001",
        serverId: serverId("pg-old"),
        serverName: "pg-old",
        status: "Completed",
        startTime: "2026-11-10T10:00:00.000Z",
        endTime: "2026-11-10T10:10:00.000Z",
      },
      {
        ...failedJob,
        jobId: "00000000-0000-0000-0000-000000000002",
        serverId: serverId("pg-old"),
        serverName: "pg-old",
        status: "Failed",
        startTime: "2026-11-24T10:00:00.000Z",
      },
      {
        ...failedJob,
        jobId: "00000000-0000-0000-0000-000000000003",
        serverId: serverId("pg-fresh"),
        serverName: "pg-fresh",
        status: "Completed",
        startTime: "2026-11-24T10:00:00.000Z",
        endTime: "2026-11-24T10:10:00.000Z",
      },
    ]);
    const check = createStaleBackupCheck({
      servers: storage.servers,
      jobs: storage.jobs,
      alerter,
      graceInMs: 24 * 3_600_000,
      now: () => new Date("2026-11-25T12:00:00.000Z"),
    });

    expect(await check.run()).toBe(1);
    expect(await check.run()).toBe(0);
    expect(raised).toEqual([
      `The last successful backup of ${serverId("pg-old")} finished at 2026-11-10T10:10:00.000Z, more than 192 h ago (policy period plus grace).`,
    ]);
    expect(staleBackupAlert(serverId("pg-old"), "pg-old", "2026-11-10T10:10:00.000Z", 1).dedupKey).toBe(
      `${serverId("pg-old")}|2026-11-10T10:10:00.000Z`,
    );
  });

  it("checks staleness at most once per interval", async () => {
    const storage = aStorage(azurite.connectionString);
    const alerter = createAlerter({ store: storage.alerts, publishers: [] });
    let listings = 0;
    const servers = {
      list: (...args: Parameters<typeof storage.servers.list>) => {
        listings++;
        return storage.servers.list(...args);
      },
    };
    const at = { value: new Date("2026-11-25T12:00:00.000Z") };
    const check = createStaleBackupCheck({
      servers,
      jobs: storage.jobs,
      alerter,
      graceInMs: 0,
      intervalInMs: 15 * 60_000,
      now: () => at.value,
    });
    await check.run();
    at.value = new Date("2026-11-25T12:10:00.000Z");
    await check.run();
    expect(listings).toBe(1);
    at.value = new Date("2026-11-25T12:16:00.000Z");
    await check.run();
    expect(listings).toBe(2);
  });
});
