import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { PostgreSQLManagementFlexibleServerClient } from "@azure/arm-postgresql-flexible";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../dev/emulator/index.js";
import { raw, serverPath, startCoreEmulator, SUB_A, postgresClient } from "./helpers.js";

interface Received {
  method: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** A webhook that records what it gets and answers with the next scripted status (then 200). */
function webhook(): {
  url: () => string;
  received: Received[];
  script: number[];
  allowOrigin: boolean;
  server: Server;
} {
  const hook = {
    received: [] as Received[],
    script: [] as number[],
    allowOrigin: true,
    server: undefined as unknown as Server,
    url: () => {
      const address = hook.server.address();
      return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/api/events`;
    },
  };
  hook.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const body: unknown = text ? JSON.parse(text) : undefined;
      if (req.method === "OPTIONS") {
        if (hook.allowOrigin)
          res.setHeader("WebHook-Allowed-Origin", String(req.headers["webhook-request-origin"]));
        res.writeHead(200).end();
        return;
      }
      if (req.headers["aeg-event-type"] === "SubscriptionValidation") {
        const code = (body as Array<{ data: { validationCode: string } }>)[0]?.data.validationCode;
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ validationResponse: code }));
        return;
      }
      hook.received.push({ method: req.method ?? "", headers: req.headers, body });
      res.writeHead(hook.script.shift() ?? 200).end();
    });
  });
  return hook;
}

async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, limit = 400): Promise<T> {
  for (let i = 0; i < limit; i += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not reached");
}

describe("Event Grid system topic", () => {
  let emulator: RunningEmulator;
  let client: PostgreSQLManagementFlexibleServerClient;
  const hook = webhook();

  beforeAll(async () => {
    await new Promise<void>((resolve) => hook.server.listen(0, "127.0.0.1", resolve));
    emulator = await startCoreEmulator({ timeScale: 10_000, faultSeed: 1 });
    client = postgresClient(emulator);
  });
  afterAll(async () => {
    await emulator.stop();
    await new Promise((resolve) => hook.server.close(resolve));
  });
  beforeEach(async () => {
    await emulator.control.reset();
    hook.received.length = 0;
    hook.script.length = 0;
    hook.allowOrigin = true;
  });

  it("validates an Event Grid schema subscriber and delivers ResourceWriteSuccess for a server create", async () => {
    const subscriber = await emulator.control.addEventSubscriber({ endpointUrl: hook.url() });
    expect(subscriber.provisioningState).toBe("Succeeded");
    await client.servers.beginCreateOrUpdateAndWait(
      "rg-ev",
      "evented-db",
      { location: "eastus" },
      { updateIntervalInMs: 5 },
    );
    const [delivery] = await eventually(() => (hook.received.length > 0 ? hook.received : undefined));
    expect(delivery?.headers["aeg-event-type"]).toBe("Notification");
    const [event] = delivery?.body as Array<Record<string, unknown>>;
    const id = serverPath(SUB_A, "rg-ev", "evented-db");
    expect(event).toMatchObject({
      subject: id,
      eventType: "Microsoft.Resources.ResourceWriteSuccess",
      dataVersion: "2",
      metadataVersion: "1",
      topic: `/subscriptions/${SUB_A}`,
      data: {
        resourceProvider: "Microsoft.DBforPostgreSQL",
        resourceUri: id,
        operationName: "Microsoft.DBforPostgreSQL/flexibleServers/write",
        status: "Succeeded",
        subscriptionId: SUB_A,
        authorization: { scope: id, action: "Microsoft.DBforPostgreSQL/flexibleServers/write" },
      },
    });
  });

  it("delivers ResourceDeleteSuccess as a CloudEvent after the OPTIONS handshake", async () => {
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-ev",
      name: "doomed-db",
      location: "eastus",
    });
    await emulator.control.addEventSubscriber({ endpointUrl: hook.url(), schema: "CloudEventSchemaV1_0" });
    await client.servers.beginDeleteAndWait("rg-ev", "doomed-db", { updateIntervalInMs: 5 });
    const [delivery] = await eventually(() => (hook.received.length > 0 ? hook.received : undefined));
    expect(delivery?.headers["content-type"]).toBe("application/cloudevents+json; charset=utf-8");
    expect(delivery?.body).toMatchObject({
      specversion: "1.0",
      type: "Microsoft.Resources.ResourceDeleteSuccess",
      source: `/subscriptions/${SUB_A}`,
      subject: serverPath(SUB_A, "rg-ev", "doomed-db"),
      data: { operationName: "Microsoft.DBforPostgreSQL/flexibleServers/delete" },
    });
  });

  it("delivers ResourceActionSuccess naming the action when a server stops", async () => {
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-ev",
      name: "stopped-db",
      location: "eastus",
    });
    await emulator.control.addEventSubscriber({ endpointUrl: hook.url() });
    await client.servers.beginStopAndWait("rg-ev", "stopped-db", { updateIntervalInMs: 5 });
    const [delivery] = await eventually(() => (hook.received.length > 0 ? hook.received : undefined));
    const [event] = delivery?.body as Array<Record<string, unknown>>;
    expect(event).toMatchObject({
      subject: serverPath(SUB_A, "rg-ev", "stopped-db"),
      eventType: "Microsoft.Resources.ResourceActionSuccess",
      data: { operationName: "Microsoft.DBforPostgreSQL/flexibleServers/stop/action" },
    });
  });

  it("answers a stopped server's start as an LRO (202, Azure-AsyncOperation and Location) and delivers ResourceActionSuccess naming the start", async () => {
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-ev",
      name: "started-db",
      location: "eastus",
      state: "Stopped",
    });
    await emulator.control.addEventSubscriber({ endpointUrl: hook.url() });
    const started = await raw(
      emulator,
      "POST",
      `${serverPath(SUB_A, "rg-ev", "started-db")}/start?api-version=2025-08-01`,
    );
    expect(started.status).toBe(202);
    expect(started.headers["azure-asyncoperation"]).toMatch(
      /\/providers\/Microsoft\.DBforPostgreSQL\/locations\/eastus\/azureAsyncOperation\/[^/?]+\?api-version=2025-08-01$/,
    );
    expect(started.headers.location).toMatch(
      /\/providers\/Microsoft\.DBforPostgreSQL\/locations\/eastus\/operationResults\/[^/?]+\?api-version=2025-08-01$/,
    );
    const [delivery] = await eventually(() => (hook.received.length > 0 ? hook.received : undefined));
    const [event] = delivery?.body as Array<Record<string, unknown>>;
    expect(event).toMatchObject({
      subject: serverPath(SUB_A, "rg-ev", "started-db"),
      eventType: "Microsoft.Resources.ResourceActionSuccess",
      data: { operationName: "Microsoft.DBforPostgreSQL/flexibleServers/start/action", status: "Succeeded" },
    });
  });

  it("delivers ResourceDeleteSuccess for each server of a deleted resource group", async () => {
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-gone",
      name: "gone-db",
      location: "eastus",
    });
    await emulator.control.addEventSubscriber({ endpointUrl: hook.url() });
    const deleted = await raw(
      emulator,
      "DELETE",
      `/subscriptions/${SUB_A}/resourcegroups/rg-gone?api-version=2021-04-01`,
    );
    expect(deleted.status).toBe(200);
    const [delivery] = await eventually(() => (hook.received.length > 0 ? hook.received : undefined));
    const [event] = delivery?.body as Array<Record<string, unknown>>;
    expect(event).toMatchObject({
      subject: serverPath(SUB_A, "rg-gone", "gone-db"),
      eventType: "Microsoft.Resources.ResourceDeleteSuccess",
      data: { operationName: "Microsoft.DBforPostgreSQL/flexibleServers/delete" },
    });
  });

  it("fails a CloudEvents subscription whose endpoint does not allow the origin", async () => {
    hook.allowOrigin = false;
    await expect(
      emulator.control.addEventSubscriber({ endpointUrl: hook.url(), schema: "CloudEventSchemaV1_0" }),
    ).rejects.toMatchObject({ statusCode: 400, code: "WebhookValidationHandshakeFailed" });
  });

  it("retries on the Event Grid schedule until a 2xx, counting only 200-204 as delivered", async () => {
    await emulator.control.addEventSubscriber({ endpointUrl: hook.url() });
    hook.script.push(500, 503, 206);
    await raw(
      emulator,
      "PUT",
      `/subscriptions/${SUB_A}/providers/Microsoft.Resources/tags/default?api-version=2021-04-01`,
      {
        body: JSON.stringify({ properties: { tags: { env: "prod" } } }),
      },
    );
    const deliveries = await eventually(async () => {
      const all = await emulator.control.getDeliveries();
      return all.some((d) => d.delivered) ? all : undefined;
    });
    expect(deliveries.map((d) => [d.attempt, d.outcome, d.delivered])).toEqual([
      [1, 500, false],
      [2, 503, false],
      [3, 206, false],
      [4, 200, true],
    ]);
    expect(new Set(deliveries.map((d) => d.eventId)).size).toBe(1);
  });

  it("drops an event the endpoint rejects with 400", async () => {
    await emulator.control.addEventSubscriber({ endpointUrl: hook.url() });
    hook.script.push(400);
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-ev",
      name: "x-db",
      location: "eastus",
      publishEvent: true,
    });
    await eventually(() => (hook.received.length > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await emulator.control.getDeliveries()).map((d) => d.outcome)).toEqual([400]);
    const [dead] = await emulator.control.getDeadLetters();
    expect(dead).toMatchObject({ reason: "NotRetried", attempts: 1, lastOutcome: 400 });
  });

  it("filters on data.operationName and subject with advanced filters", async () => {
    await emulator.control.addEventSubscriber({
      endpointUrl: hook.url(),
      filter: {
        subjectBeginsWith: `/subscriptions/${SUB_A}/resourceGroups/rg-ev/`,
        advancedFilters: [
          { operatorType: "StringIn", key: "data.operationName", values: ["Microsoft.Resources/tags/write"] },
        ],
      },
    });
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-ev",
      name: "f-db",
      location: "eastus",
      publishEvent: true,
    });
    await raw(
      emulator,
      "PATCH",
      `${serverPath(SUB_A, "rg-other", "f-db")}/providers/Microsoft.Resources/tags/default?api-version=2021-04-01`,
      {
        body: JSON.stringify({ operation: "Merge", properties: { tags: { backup: "daily" } } }),
      },
    );
    const tagWrite = await raw(
      emulator,
      "PATCH",
      `${serverPath(SUB_A, "rg-ev", "f-db")}/providers/Microsoft.Resources/tags/default?api-version=2021-04-01`,
      {
        body: JSON.stringify({ operation: "Merge", properties: { tags: { backup: "daily" } } }),
      },
    );
    expect(tagWrite.status).toBe(200);
    const [delivery] = await eventually(() => (hook.received.length > 0 ? hook.received : undefined));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hook.received).toHaveLength(1);
    expect((delivery?.body as Array<{ data: { operationName: string } }>)[0]?.data.operationName).toBe(
      "Microsoft.Resources/tags/write",
    );
  });

  it("dead-letters an event after its last allowed attempt", async () => {
    await emulator.control.addEventSubscriber({ endpointUrl: hook.url(), maxDeliveryAttempts: 2 });
    hook.script.push(500, 500);
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-ev",
      name: "m-db",
      location: "eastus",
      publishEvent: true,
    });
    const [dead] = await eventually(async () => {
      const letters = await emulator.control.getDeadLetters();
      return letters.length > 0 ? letters : undefined;
    });
    expect(dead).toMatchObject({ reason: "MaxDeliveryAttemptsExceeded", attempts: 2, lastOutcome: 500 });
    expect(dead?.event).toMatchObject({ subject: serverPath(SUB_A, "rg-ev", "m-db") });
  });

  it("delivers an event twice when duplicates are switched on", async () => {
    await emulator.control.addEventSubscriber({ endpointUrl: hook.url(), duplicateRate: 1 });
    await emulator.control.createServer({
      subscriptionId: SUB_A,
      resourceGroupName: "rg-ev",
      name: "d-db",
      location: "eastus",
      publishEvent: true,
    });
    const received = await eventually(() => (hook.received.length >= 2 ? hook.received : undefined));
    const ids = received.map((r) => (r.body as Array<{ id: string }>)[0]?.id);
    expect(ids[0]).toBe(ids[1]);
  });

  it("stops delivering to a removed subscriber", async () => {
    const subscriber = await emulator.control.addEventSubscriber({ endpointUrl: hook.url() });
    await emulator.control.removeEventSubscriber(subscriber.id);
    expect(await emulator.control.listEventSubscribers()).toEqual([]);
  });
});
