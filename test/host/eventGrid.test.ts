import { describe, expect, it } from "vitest";
import type { FunctionDeclaration } from "../../src/functions/registry.js";
import { deliverEventGrid, useLocalHost } from "../support/localHost.js";

const received: unknown[] = [];
const fixtures: FunctionDeclaration[] = [
  {
    kind: "eventGrid",
    name: "onResourceEvent",
    options: {
      handler: (event) => {
        if ((event as { subject?: string }).subject === "fail") throw new Error("cannot handle");
        received.push(event);
      },
    },
  },
  { kind: "timer", name: "pollJobs", options: { schedule: "0 */1 * * * *", handler: () => undefined } },
];

const egEvent = (
  id: string,
  subject = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg",
) => ({
  id,
  topic: "/subscriptions/s/resourceGroups/rg",
  subject,
  eventType: "Microsoft.Resources.ResourceWriteSuccess",
  eventTime: "2026-01-01T00:00:00Z",
  data: { operationName: "Microsoft.DBforPostgreSQL/flexibleServers/write" },
  dataVersion: "2",
  metadataVersion: "1",
});
const cloudEvent = (id: string) => ({
  specversion: "1.0",
  id,
  source: "/subscriptions/s/resourceGroups/rg",
  subject: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg",
  type: "Microsoft.Resources.ResourceWriteSuccess",
  time: "2026-01-01T00:00:00Z",
  data: { operationName: "Microsoft.DBforPostgreSQL/flexibleServers/write" },
});

describe("local host: Event Grid webhook", () => {
  const host = useLocalHost(() => ({ declarations: fixtures }));

  it("calls the handler once per event of an Event Grid schema array, as delivered", async () => {
    received.length = 0;
    const res = await deliverEventGrid(host, "onResourceEvent", [egEvent("e-1"), egEvent("e-2")]);
    expect(res.status).toBe(200);
    expect(received).toEqual([egEvent("e-1"), egEvent("e-2")]);
  });

  it("accepts a single CloudEvent and a CloudEvents batch", async () => {
    received.length = 0;
    const single = await deliverEventGrid(host, "onResourceEvent", cloudEvent("c-1"), {
      contentType: "application/cloudevents+json; charset=utf-8",
    });
    const batch = await deliverEventGrid(host, "onResourceEvent", [cloudEvent("c-2"), cloudEvent("c-3")], {
      contentType: "application/cloudevents-batch+json; charset=utf-8",
    });
    expect([single.status, batch.status]).toEqual([200, 200]);
    expect(received).toEqual([cloudEvent("c-1"), cloudEvent("c-2"), cloudEvent("c-3")]);
  });

  it("answers the subscription validation handshake with the validation code", async () => {
    received.length = 0;
    const res = await deliverEventGrid(
      host,
      "onResourceEvent",
      [
        {
          id: "v-1",
          topic: "/subscriptions/s",
          subject: "",
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          eventTime: "2026-01-01T00:00:00Z",
          data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", validationUrl: "https://example" },
          dataVersion: "2",
          metadataVersion: "1",
        },
      ],
      { eventType: "SubscriptionValidation" },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" });
    expect(received).toEqual([]);
  });

  it("answers the CloudEvents OPTIONS handshake by allowing the origin", async () => {
    const url = `${host.url}/runtime/webhooks/EventGrid?functionName=onResourceEvent&code=${host.eventGridKey}`;
    const res = await fetch(url, {
      method: "OPTIONS",
      headers: { "WebHook-Request-Origin": "eventgrid.azure.net" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("webhook-allowed-origin")).toBe("eventgrid.azure.net");
  });

  it("answers 500 when the handler throws so that Event Grid retries", async () => {
    const res = await deliverEventGrid(host, "onResourceEvent", [egEvent("e-9", "fail")]);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(
      "Functions.onResourceEvent failed on event e-9; Event Grid retries the delivery.",
    );
  });

  it("runs every event of a batch even when one fails, and fails the delivery", async () => {
    received.length = 0;
    const res = await deliverEventGrid(host, "onResourceEvent", [egEvent("e-10", "fail"), egEvent("e-11")]);
    expect(res.status).toBe(500);
    expect(received).toEqual([egEvent("e-11")]);
  });

  it.each([
    ["a non-JSON body", "{oops", "The body is not valid JSON."],
    [
      "a single Event Grid schema event",
      egEvent("e-3"),
      "The body must be an array of events (Event Grid schema or CloudEvents) or a single CloudEvent.",
    ],
    [
      "an event without eventType",
      [{ ...egEvent("e-4"), eventType: undefined }],
      "Event 0: missing eventType required by the Event Grid schema.",
    ],
    [
      "a CloudEvent of another version",
      [{ ...cloudEvent("c-9"), specversion: "0.3" }],
      'Event 0: specversion "0.3" is not 1.0.',
    ],
    ["an empty array", [], "The delivery holds no events."],
  ])("answers 400 for %s", async (_what, body, reason) => {
    const res = await deliverEventGrid(host, "onResourceEvent", body);
    expect([res.status, await res.text()]).toEqual([400, reason]);
  });

  it("answers 400 without the aeg-event-type header value it knows", async () => {
    const res = await deliverEventGrid(host, "onResourceEvent", [egEvent("e-5")], { eventType: "Other" });
    expect([res.status, await res.text()]).toEqual([
      400,
      "The aeg-event-type header must be Notification or SubscriptionValidation.",
    ]);
  });

  it("answers 401 without the system key and 404 for an unknown function", async () => {
    const noKey = await deliverEventGrid(host, "onResourceEvent", [egEvent("e-6")], { key: null });
    expect([noKey.status, await noKey.text()]).toEqual([
      401,
      "Missing key: send the Event Grid system key in the x-functions-key header or the code query parameter.",
    ]);
    const unknown = await deliverEventGrid(host, "nope", [egEvent("e-7")]);
    expect([unknown.status, await unknown.text()]).toEqual([404, 'No Event Grid function named "nope".']);
    const timer = await deliverEventGrid(host, "pollJobs", [egEvent("e-8")]);
    expect(timer.status).toBe(404);
  });
});
