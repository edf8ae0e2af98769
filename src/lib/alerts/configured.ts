import type { TokenCredential } from "@azure/core-auth";
import type { Config } from "../config/index.js";
import type { Logger } from "../logger.js";
import type { StorageConnection } from "../store/connection.js";
import { createAlertStore } from "../store/alerts.js";
import { createAlerter, type AlertPublisher, type Alerter } from "./alerts.js";
import { createEventGridPublisher, createWebhookPublisher } from "./publishers.js";

/**
 * The alerter the configuration asks for: the Event Grid topic (PGFLEX_ALERT_EVENTGRID_ENDPOINT, with the
 * app's identity) and/or the webhook (PGFLEX_ALERT_WEBHOOK_URL). With neither, alerts are only recorded in
 * the `alerts` table.
 */
export async function createConfiguredAlerter(
  config: Pick<Config, "alertEventGridEndpoint" | "alertWebhookUrl">,
  deps: { connection: StorageConnection; credential: () => Promise<TokenCredential>; logger?: Logger },
): Promise<Alerter> {
  const publishers: AlertPublisher[] = [];
  if (config.alertEventGridEndpoint) {
    publishers.push(
      createEventGridPublisher({
        endpoint: config.alertEventGridEndpoint,
        credential: await deps.credential(),
      }),
    );
  }
  if (config.alertWebhookUrl) publishers.push(createWebhookPublisher({ url: config.alertWebhookUrl }));
  return createAlerter({ store: createAlertStore(deps.connection), publishers, logger: deps.logger });
}
