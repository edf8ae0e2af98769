import type { TokenCredential, KeyCredential } from "@azure/core-auth";
import type { EventGridPublisherClient } from "@azure/eventgrid";
import type { AlertRecord } from "../store/alerts.js";
import type { AlertPublisher } from "./alerts.js";

export const ALERT_EVENT_SOURCE = "/pgflex-autoprotect";

/** The CloudEvent type of each alert kind. */
export function alertEventType(alert: Pick<AlertRecord, "kind">): string {
  return `PgFlexAutoProtect.Alert.${alert.kind}`;
}

export interface EventGridPublisherOptions {
  endpoint: string;
  /** Identity in Azure; a key credential only for the local receiver in tests. */
  credential: TokenCredential | KeyCredential;
}

/**
 * Publishes to an Event Grid topic with the CloudEvents 1.0 schema. The event id is the alert's dedup
 * identity, so a redelivery after a partial failure is recognisable downstream.
 */
export function createEventGridPublisher(options: EventGridPublisherOptions): AlertPublisher {
  let client: Promise<EventGridPublisherClient<"CloudEvent">> | undefined;
  return {
    name: "eventGrid",
    async publish(alert, publishOptions = {}) {
      client ??= import("@azure/eventgrid").then(
        ({ EventGridPublisherClient }) =>
          new EventGridPublisherClient(options.endpoint, "CloudEvent", options.credential, {
            // Plain http only reaches a loopback receiver (local development, tests); settings refuse it otherwise.
            allowInsecureConnection: /^http:\/\/(127\.|localhost|\[::1\])/i.test(options.endpoint),
          }),
      );
      await (
        await client
      ).send(
        [
          {
            type: alertEventType(alert),
            source: ALERT_EVENT_SOURCE,
            subject: alert.serverId,
            id: `${alert.kind}:${alert.dedupKey}`,
            time: new Date(alert.raisedAt),
            datacontenttype: "application/json",
            data: alertData(alert),
          },
        ],
        { abortSignal: publishOptions.abortSignal },
      );
    },
  };
}

export function alertData(alert: AlertRecord): Record<string, unknown> {
  return {
    kind: alert.kind,
    serverId: alert.serverId,
    ...(alert.jobId ? { jobId: alert.jobId } : {}),
    title: alert.title,
    message: alert.message,
    ...(alert.recommendedAction ? { recommendedAction: alert.recommendedAction } : {}),
    raisedAt: alert.raisedAt,
  };
}

export interface WebhookPublisherOptions {
  url: string;
  fetch?: typeof fetch;
  timeoutInMs?: number;
}

/**
 * Posts `{ text, title, ... }`: the `text` field is what both Slack and Teams incoming webhooks render.
 * The URL is a secret: never logged, errors name only the status.
 */
export function createWebhookPublisher(options: WebhookPublisherOptions): AlertPublisher {
  const doFetch = options.fetch ?? fetch;
  return {
    name: "webhook",
    async publish(alert, publishOptions = {}) {
      const timeout = AbortSignal.timeout(options.timeoutInMs ?? 10_000);
      const signal = publishOptions.abortSignal
        ? AbortSignal.any([publishOptions.abortSignal, timeout])
        : timeout;
      const text = `**${alert.title}**\n${alert.message}${alert.recommendedAction ? `\nRecommended action: ${alert.recommendedAction}` : ""}`;
      const response = await doFetch(options.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text, title: alert.title, ...alertData(alert) }),
        signal,
      });
      if (!response.ok) throw new Error(`webhook answered HTTP ${response.status}`);
    },
  };
}
