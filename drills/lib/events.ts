import { randomUUID } from "node:crypto";
import type { LocalHost } from "../../dev/host/index.js";

/** A `ResourceWriteSuccess` for a server write, in the Event Grid schema, as the system topic sends it. */
export function serverWriteEvent(serverId: string, tags: Record<string, string> = {}) {
  const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(serverId)?.[1] ?? "";
  return {
    id: randomUUID(),
    topic: `/subscriptions/${subscriptionId}`,
    subject: serverId,
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: new Date().toISOString(),
    data: {
      resourceProvider: "Microsoft.DBforPostgreSQL",
      resourceUri: serverId,
      operationName: "Microsoft.DBforPostgreSQL/flexibleServers/write",
      status: "Succeeded",
      subscriptionId,
      tags,
    },
    dataVersion: "2",
    metadataVersion: "1",
  };
}

/** Delivers a batch to the onResourceEvent webhook as Event Grid does; retries until 200 (at-least-once). */
export async function deliver(
  host: Pick<LocalHost, "url" | "eventGridKey">,
  events: readonly unknown[],
  { attempts = 50, retryInMs = 100 } = {},
): Promise<number> {
  const url = new URL("/runtime/webhooks/EventGrid", host.url);
  url.searchParams.set("functionName", "onResourceEvent");
  url.searchParams.set("code", host.eventGridKey);
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "aeg-event-type": "Notification", "content-type": "application/json" },
        body: JSON.stringify(events),
      });
      await res.arrayBuffer();
      if (res.status >= 200 && res.status <= 204) return attempt;
    } catch {
      // connection refused or reset: Event Grid retries
    }
    if (attempt >= attempts) throw new Error(`Event delivery failed ${attempts} times.`);
    await new Promise((resolve) => setTimeout(resolve, retryInMs));
  }
}

/** Fisher–Yates with a seeded PRNG (mulberry32), so a drill's order is reproducible from its seed. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
