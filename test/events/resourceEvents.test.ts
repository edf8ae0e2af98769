import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createResourceEventHandler, parseResourceEvents } from "../../src/lib/events/index.js";
import { createInMemoryServerStore } from "../../src/lib/store/servers.js";
import type { Logger } from "../../src/lib/logger.js";
import { FakeQueue } from "../protection/fakes.js";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(here, "..", "fixtures", "events", name), "utf8")) as unknown;

const SUB = "11111111-1111-1111-1111-111111111111";
const SERVER = `/subscriptions/${SUB}/resourcegroups/rg-app/providers/microsoft.dbforpostgresql/flexibleservers/pg-orders`;

function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

describe("parseResourceEvents", () => {
  it("accepts a server write in the Event Grid schema", async () => {
    expect(await parseResourceEvents(fixture("eventgrid-server-write.json"))).toEqual([
      {
        accepted: true,
        event: {
          eventId: "0a5a4c2e-3d3b-4f8e-9b6a-000000000001",
          eventType: "Microsoft.Resources.ResourceWriteSuccess",
          kind: "write",
          resourceId: SERVER,
          subscriptionId: SUB,
          operationName: "Microsoft.DBforPostgreSQL/flexibleServers/write",
          schema: "EventGrid",
        },
      },
    ]);
  });

  it("maps a tags write on a server to the server", async () => {
    const [parsed] = await parseResourceEvents(fixture("eventgrid-tags-write.json"));
    expect(parsed).toMatchObject({ accepted: true, event: { kind: "tags", resourceId: SERVER } });
  });

  it("accepts CloudEvents with either spelling of specversion", async () => {
    const [write] = await parseResourceEvents(JSON.stringify(fixture("cloudevents-server-write.json")));
    const [del] = await parseResourceEvents(fixture("cloudevents-server-delete.json"));
    expect(write).toMatchObject({ accepted: true, event: { kind: "write", schema: "CloudEvents" } });
    expect(del).toMatchObject({
      accepted: true,
      event: { kind: "delete", resourceId: SERVER, schema: "CloudEvents" },
    });
  });

  it("accepts a server's start action, and ignores its stop and restart at debug level", async () => {
    const [write] = fixture("eventgrid-server-write.json") as Array<Record<string, unknown>>;
    const action = (verb: string, id: string) => ({
      ...write,
      id,
      eventType: "Microsoft.Resources.ResourceActionSuccess",
      data: {
        ...(write?.data as object),
        operationName: `Microsoft.DBforPostgreSQL/flexibleServers/${verb}/action`,
      },
    });

    const parsed = await parseResourceEvents([
      action("start", "start-1"),
      action("stop", "stop-1"),
      action("restart", "restart-1"),
    ]);

    expect(parsed).toEqual([
      {
        accepted: true,
        event: {
          eventId: "start-1",
          eventType: "Microsoft.Resources.ResourceActionSuccess",
          kind: "start",
          resourceId: SERVER,
          subscriptionId: SUB,
          operationName: "Microsoft.DBforPostgreSQL/flexibleServers/start/action",
          schema: "EventGrid",
        },
      },
      {
        accepted: false,
        level: "debug",
        reason: 'operation "Microsoft.DBforPostgreSQL/flexibleServers/stop/action" is not handled',
        eventId: "stop-1",
      },
      {
        accepted: false,
        level: "debug",
        reason: 'operation "Microsoft.DBforPostgreSQL/flexibleServers/restart/action" is not handled',
        eventId: "restart-1",
      },
    ]);
  });

  it("ignores writes to other resource types at debug level", async () => {
    expect(await parseResourceEvents(fixture("eventgrid-storage-write.json"))).toEqual([
      {
        accepted: false,
        level: "debug",
        reason: 'operation "Microsoft.Storage/storageAccounts/write" is not handled',
        eventId: "0a5a4c2e-3d3b-4f8e-9b6a-000000000005",
      },
    ]);
  });

  it("drops a server event whose subject is not a server id", async () => {
    const [parsed] = await parseResourceEvents(fixture("eventgrid-bad-subject.json"));
    expect(parsed).toMatchObject({ accepted: false, level: "warn" });
    expect((parsed as { reason: string }).reason).toMatch(
      /^subject ".*PG_Bad#name\?x=1" is not a flexible server id$/,
    );
  });

  it("drops a malformed event with a warning", async () => {
    const [parsed] = await parseResourceEvents(fixture("eventgrid-malformed.json"));
    expect(parsed).toMatchObject({ accepted: false, level: "warn" });
    expect((parsed as { reason: string }).reason).toMatch(/^malformed Event Grid event: /);
    expect(await parseResourceEvents("{not json")).toEqual([
      { accepted: false, level: "warn", reason: "payload is not JSON" },
    ]);
  });

  it("drops an event whose backup tag value has control characters", async () => {
    const event = structuredClone(fixture("cloudevents-server-write.json")) as {
      data: Record<string, unknown>;
    };
    event.data.tags = { backup: "weekly\u0007" };
    const [parsed] = await parseResourceEvents(event);
    expect(parsed).toMatchObject({
      accepted: false,
      level: "warn",
      reason: 'the "backup" tag value has characters this app does not accept',
    });
  });

  it("drops an event whose backup tag the compliance sweep calls malformed, naming the problem", async () => {
    const event = structuredClone(fixture("cloudevents-server-write.json")) as {
      data: Record<string, unknown>;
    };
    event.data.tags = { backup: "weekly", BACKUP: "gold" };
    const [parsed] = await parseResourceEvents(event);
    expect(parsed).toMatchObject({
      accepted: false,
      level: "warn",
      reason:
        'the "backup" tag is malformed: tag "backup" appears 2 times with different values ("backup", "BACKUP")',
    });
  });

  it("accepts an event whose backup tag value is well-formed once trimmed", async () => {
    const event = structuredClone(fixture("cloudevents-server-write.json")) as {
      data: Record<string, unknown>;
    };
    event.data.tags = { " Backup ": " Weekly\n" };
    const [parsed] = await parseResourceEvents(event);
    expect(parsed).toMatchObject({ accepted: true, event: { kind: "write", resourceId: SERVER } });
  });

  it("drops an event whose subject and resourceUri disagree", async () => {
    const event = structuredClone(fixture("cloudevents-server-write.json")) as {
      data: Record<string, unknown>;
    };
    event.data.resourceUri = SERVER.replace("pg-orders", "pg-other");
    const [parsed] = await parseResourceEvents(event);
    expect(parsed).toMatchObject({
      accepted: false,
      reason: "subject and data.resourceUri name different resources",
    });
  });

  it("drops a write-success event whose status says it failed", async () => {
    const event = structuredClone(fixture("cloudevents-server-write.json")) as {
      data: Record<string, unknown>;
    };
    event.data.status = "Failed";
    const [parsed] = await parseResourceEvents(event);
    expect(parsed).toMatchObject({
      accepted: false,
      level: "warn",
      reason: 'a ResourceWriteSuccess event with status "Failed" is contradictory',
    });
  });

  it("ignores a subscription validation event at debug level", async () => {
    const [parsed] = await parseResourceEvents([
      {
        id: "v1",
        subject: `/subscriptions/${SUB}`,
        topic: `/subscriptions/${SUB}`,
        eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
        eventTime: "2026-11-25T10:00:00Z",
        data: { validationCode: "x" },
        dataVersion: "1",
      },
    ]);
    expect(parsed).toMatchObject({ accepted: false, level: "debug" });
  });

  it("parses the official samples when the shared reference is present", async (ctx) => {
    const dir = join(here, "..", "..", "..", "shared", "azure-reference", "eventgrid");
    if (!existsSync(dir)) ctx.skip("../shared/azure-reference is not beside the clone");
    const sample = JSON.parse(
      readFileSync(join(dir, "cloud-events-schema_resource_delete_success.json"), "utf8"),
    ) as unknown;
    const [parsed] = await parseResourceEvents(sample);
    // A storage account delete: well-formed, not ours.
    expect(parsed).toMatchObject({ accepted: false, level: "debug" });
  });
});

describe("resource event handler", () => {
  it("records the request and enqueues one protection message", async () => {
    const queue = new FakeQueue();
    const servers = createInMemoryServerStore();
    const handler = createResourceEventHandler({ queue, servers, scopes: [SUB] });

    const summary = await handler.handle(fixture("eventgrid-server-write.json"));

    expect(summary.enqueued).toHaveLength(1);
    expect(queue.sent).toHaveLength(1);
    expect(queue.sent[0]?.message).toMatchObject({
      v: 1,
      resourceId: SERVER,
      action: "protect",
      cause: { kind: "event", eventId: "0a5a4c2e-3d3b-4f8e-9b6a-000000000001" },
      attempt: 0,
    });
    expect(await servers.get(SERVER)).toMatchObject({
      state: "Pending",
      serverName: "pg-orders",
      resourceGroup: "rg-app",
    });
  });

  it("enqueues a delete without creating a row", async () => {
    const queue = new FakeQueue();
    const servers = createInMemoryServerStore();
    const handler = createResourceEventHandler({ queue, servers, scopes: [] });

    await handler.handle(fixture("cloudevents-server-delete.json"));

    expect(queue.sent[0]?.message.action).toBe("delete");
    expect(await servers.get(SERVER)).toBeUndefined();
  });

  it("ignores events from subscriptions outside the scope and says so", async () => {
    const queue = new FakeQueue();
    const logger = captureLogger();
    const handler = createResourceEventHandler({
      queue,
      scopes: ["22222222-2222-2222-2222-222222222222"],
      logger,
    });

    const summary = await handler.handle(fixture("eventgrid-server-write.json"));

    expect(summary).toEqual({ enqueued: [], ignored: 1 });
    expect(queue.sent).toEqual([]);
    expect(logger.lines).toEqual([
      `info Ignored event 0a5a4c2e-3d3b-4f8e-9b6a-000000000001: subscription ${SUB} is outside the configured scope.`,
    ]);
  });

  it("logs and drops bad input without enqueueing", async () => {
    const queue = new FakeQueue();
    const logger = captureLogger();
    const handler = createResourceEventHandler({ queue, scopes: [], logger });

    await handler.handle(fixture("eventgrid-bad-subject.json"));
    await handler.handle(fixture("eventgrid-storage-write.json"));

    expect(queue.sent).toEqual([]);
    expect(logger.lines[0]).toMatch(/^warn Ignored event 0a5a4c2e-3d3b-4f8e-9b6a-000000000006: subject /);
    expect(logger.lines[1]).toBe(
      'debug Ignored event 0a5a4c2e-3d3b-4f8e-9b6a-000000000005: operation "Microsoft.Storage/storageAccounts/write" is not handled.',
    );
  });
});
