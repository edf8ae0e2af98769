import type { ArmEvent, EmulatorClock, EventPublisher, Scheduler } from "./provider.js";
import { lower, parseResourceId } from "./ids.js";
import type { Random } from "./random.js";
import { DEFAULT_TENANT_ID } from "./state.js";

export type EventSchema = "EventGridSchema" | "CloudEventSchemaV1_0";

export interface AdvancedFilter {
  operatorType:
    | "StringIn"
    | "StringNotIn"
    | "StringBeginsWith"
    | "StringNotBeginsWith"
    | "StringEndsWith"
    | "StringNotEndsWith"
    | "StringContains"
    | "StringNotContains";
  /** `subject`, `eventType`, `topic`, `id` or a `data.` path such as `data.operationName`. */
  key: string;
  values: string[];
}

export interface EventSubscriberConfig {
  /** Generated when absent. */
  id?: string;
  endpointUrl: string;
  schema?: EventSchema;
  /** System topic scope: only events whose subject lies under it (`/subscriptions/{id}` or a resource group). */
  topic?: string;
  filter?: {
    includedEventTypes?: string[];
    subjectBeginsWith?: string;
    subjectEndsWith?: string;
    isSubjectCaseSensitive?: boolean;
    advancedFilters?: AdvancedFilter[];
  };
  /** Probability of delivering an event twice (at-least-once drills). */
  duplicateRate?: number;
  /** Max extra delay (emulated ms) before the first attempt, which reorders events. */
  reorderWindowInMs?: number;
  maxDeliveryAttempts?: number;
  eventTimeToLiveInMinutes?: number;
  /** Skip the validation handshake (seeds, tests of delivery only). */
  skipValidation?: boolean;
}

export interface EventSubscriber extends Required<
  Pick<EventSubscriberConfig, "id" | "endpointUrl" | "schema">
> {
  config: EventSubscriberConfig;
  provisioningState: "Succeeded" | "AwaitingManualAction" | "Failed";
  validationCode: string;
}

/** An event Event Grid gave up on (what it would write to the dead-letter container). */
export interface DeadLetter {
  subscriberId: string;
  reason: "NotRetried" | "MaxDeliveryAttemptsExceeded" | "TimeToLiveExceeded";
  attempts: number;
  lastOutcome: number | "timeout" | "error";
  time: string;
  event: Record<string, unknown>;
}

export interface DeliveryRecord {
  subscriberId: string;
  eventId: string;
  eventType: string;
  subject: string;
  attempt: number;
  /** HTTP status, or `timeout` / `error`. */
  outcome: number | "timeout" | "error";
  delivered: boolean;
  /** Emulator time of the attempt. */
  time: string;
}

/** Event Grid's retry schedule (emulated ms); after the list, every 12 h until the TTL. */
export const RETRY_SCHEDULE_IN_MS = [
  10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000,
];
const TWELVE_HOURS_IN_MS = 43_200_000;
const ATTEMPT_TIMEOUT_IN_MS = 30_000;
const MIN_REAL_TIMEOUT_IN_MS = 2_000;
const MAX_DELIVERY_LOG = 5000;

export interface EventGridDeps {
  clock: EmulatorClock;
  scheduler: Scheduler;
  random: Random;
  log: (message: string) => void;
  validationUrlFor: (subscriberId: string, code: string) => string;
}

function valueAt(event: Record<string, unknown>, key: string): unknown {
  return key.split(".").reduce<unknown>((current, part) => {
    if (current && typeof current === "object") return (current as Record<string, unknown>)[part];
    return undefined;
  }, event);
}

function passesAdvanced(filter: AdvancedFilter, event: Record<string, unknown>): boolean {
  const raw = valueAt(event, filter.key);
  const value = typeof raw === "string" ? raw.toLowerCase() : undefined;
  const values = filter.values.map((v) => v.toLowerCase());
  const any = (test: (v: string) => boolean): boolean => value !== undefined && values.some(test);
  switch (filter.operatorType) {
    case "StringIn":
      return any((v) => value === v);
    case "StringNotIn":
      return !any((v) => value === v);
    case "StringBeginsWith":
      return any((v) => value!.startsWith(v));
    case "StringNotBeginsWith":
      return !any((v) => value!.startsWith(v));
    case "StringEndsWith":
      return any((v) => value!.endsWith(v));
    case "StringNotEndsWith":
      return !any((v) => value!.endsWith(v));
    case "StringContains":
      return any((v) => value!.includes(v));
    case "StringNotContains":
      return !any((v) => value!.includes(v));
    default:
      return false;
  }
}

export function matchesSubscriber(
  subscriber: EventSubscriberConfig,
  event: Record<string, unknown>,
): boolean {
  const subject = String(event.subject ?? "");
  const eventType = String(event.eventType ?? "");
  if (subscriber.topic && !lower(subject).startsWith(lower(subscriber.topic.replace(/\/+$/u, ""))))
    return false;
  const filter = subscriber.filter ?? {};
  if (
    filter.includedEventTypes?.length &&
    !filter.includedEventTypes.some((t) => lower(t) === lower(eventType))
  ) {
    return false;
  }
  const cased = (s: string): string => (filter.isSubjectCaseSensitive ? s : s.toLowerCase());
  if (filter.subjectBeginsWith && !cased(subject).startsWith(cased(filter.subjectBeginsWith))) return false;
  if (filter.subjectEndsWith && !cased(subject).endsWith(cased(filter.subjectEndsWith))) return false;
  return (filter.advancedFilters ?? []).every((f) => passesAdvanced(f, event));
}

/** The Event Grid schema form of an ARM event, with `data` as the system topic sends it. */
export function toEventGridEvent(
  event: ArmEvent,
  id: string,
  eventTime: string,
  topic?: string,
): Record<string, unknown> {
  const parsed = parseResourceId(event.subject);
  const action = event.operationName;
  return {
    subject: event.subject,
    eventType: event.eventType,
    eventTime,
    id,
    data: {
      authorization: { scope: event.subject, action, evidence: { role: "Subscription Admin" } },
      claims: {
        aud: "https://management.core.windows.net/",
        iss: `https://sts.windows.net/${DEFAULT_TENANT_ID}/`,
      },
      correlationId: id,
      resourceProvider: parsed.provider ?? "Microsoft.Resources",
      resourceUri: event.subject,
      operationName: action,
      status: event.status ?? "Succeeded",
      subscriptionId: event.subscriptionId,
      tenantId: DEFAULT_TENANT_ID,
      ...(event.data ?? {}),
    },
    dataVersion: "2",
    metadataVersion: "1",
    topic: topic ?? `/subscriptions/${event.subscriptionId}`,
  };
}

export function toCloudEvent(gridEvent: Record<string, unknown>): Record<string, unknown> {
  return {
    source: gridEvent.topic,
    subject: gridEvent.subject,
    type: gridEvent.eventType,
    time: gridEvent.eventTime,
    id: gridEvent.id,
    data: gridEvent.data,
    specversion: "1.0",
  };
}

export function createEventGrid(deps: EventGridDeps) {
  const subscribers = new Map<string, EventSubscriber>();
  const deliveries: DeliveryRecord[] = [];
  const deadLetters: DeadLetter[] = [];
  let stopped = false;
  const inflight = new Set<AbortController>();

  const record = (entry: DeliveryRecord): void => {
    deliveries.push(entry);
    if (deliveries.length > MAX_DELIVERY_LOG) deliveries.splice(0, deliveries.length - MAX_DELIVERY_LOG);
  };

  async function post(
    url: string,
    body: string,
    headers: Record<string, string>,
    method = "POST",
  ): Promise<{ status: number; text: string; headers: Headers } | "timeout" | "error"> {
    const controller = new AbortController();
    inflight.add(controller);
    // Time-scaled, but never below MIN_REAL_TIMEOUT_IN_MS: a loopback request needs a few ms whatever the scale.
    const timeoutInMs = Math.max(MIN_REAL_TIMEOUT_IN_MS, deps.clock.toRealMs(ATTEMPT_TIMEOUT_IN_MS));
    const timer = setTimeout(() => controller.abort(), timeoutInMs);
    try {
      const response = await fetch(url, {
        method,
        headers,
        ...(method === "POST" ? { body } : {}),
        signal: controller.signal,
      });
      return { status: response.status, text: await response.text(), headers: response.headers };
    } catch {
      return controller.signal.aborted ? "timeout" : "error";
    } finally {
      clearTimeout(timer);
      inflight.delete(controller);
    }
  }

  async function handshake(subscriber: EventSubscriber): Promise<boolean> {
    if (subscriber.schema === "CloudEventSchemaV1_0") {
      const result = await post(
        subscriber.endpointUrl,
        "",
        { "WebHook-Request-Origin": "eventgrid.azure.net", "WebHook-Request-Rate": "120" },
        "OPTIONS",
      );
      if (typeof result === "string" || result.status < 200 || result.status > 204) return false;
      const allowed = result.headers.get("webhook-allowed-origin");
      return allowed === "*" || lower(allowed ?? "") === "eventgrid.azure.net";
    }
    const validationEvent = {
      id: deps.random.guid(),
      topic: subscriber.config.topic ?? "/subscriptions",
      subject: "",
      data: {
        validationCode: subscriber.validationCode,
        validationUrl: deps.validationUrlFor(subscriber.id, subscriber.validationCode),
      },
      eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
      eventTime: deps.clock.nowIso(),
      metadataVersion: "1",
      dataVersion: "2",
    };
    const result = await post(subscriber.endpointUrl, JSON.stringify([validationEvent]), {
      "content-type": "application/json",
      "aeg-event-type": "SubscriptionValidation",
    });
    if (typeof result === "string" || result.status !== 200) return false;
    try {
      const parsed = JSON.parse(result.text) as { validationResponse?: string };
      return parsed.validationResponse === subscriber.validationCode;
    } catch {
      return false;
    }
  }

  function attempt(
    subscriber: EventSubscriber,
    gridEvent: Record<string, unknown>,
    number: number,
    firstAt: number,
  ): void {
    if (stopped || !subscribers.has(subscriber.id)) return;
    const cloud = subscriber.schema === "CloudEventSchemaV1_0";
    const body = JSON.stringify(cloud ? toCloudEvent(gridEvent) : [gridEvent]);
    const headers: Record<string, string> = cloud
      ? { "content-type": "application/cloudevents+json; charset=utf-8", "aeg-event-type": "Notification" }
      : { "content-type": "application/json", "aeg-event-type": "Notification" };
    headers["aeg-subscription-name"] = subscriber.id.toUpperCase();
    headers["aeg-delivery-count"] = String(number - 1);
    headers["aeg-data-version"] = String(gridEvent.dataVersion ?? "");
    headers["aeg-metadata-version"] = String(gridEvent.metadataVersion ?? "1");
    void post(subscriber.endpointUrl, body, headers).then((result) => {
      const outcome = typeof result === "string" ? result : result.status;
      const delivered = typeof outcome === "number" && outcome >= 200 && outcome <= 204;
      record({
        subscriberId: subscriber.id,
        eventId: String(gridEvent.id),
        eventType: String(gridEvent.eventType),
        subject: String(gridEvent.subject),
        attempt: number,
        outcome,
        delivered,
        time: deps.clock.nowIso(),
      });
      if (delivered || stopped) return;
      // Event Grid drops (dead-letters) at once on these; 401/404 wait at least 5 min, 503 at least 30 s.
      const deadLetter = (reason: DeadLetter["reason"]): void => {
        deadLetters.push({
          subscriberId: subscriber.id,
          reason,
          attempts: number,
          lastOutcome: outcome,
          time: deps.clock.nowIso(),
          event: gridEvent,
        });
        if (deadLetters.length > MAX_DELIVERY_LOG)
          deadLetters.splice(0, deadLetters.length - MAX_DELIVERY_LOG);
      };
      if (outcome === 400 || outcome === 403 || outcome === 413) return deadLetter("NotRetried");
      const maxAttempts = subscriber.config.maxDeliveryAttempts ?? 30;
      const ttlInMs = (subscriber.config.eventTimeToLiveInMinutes ?? 1440) * 60_000;
      if (number >= maxAttempts) return deadLetter("MaxDeliveryAttemptsExceeded");
      let delay = RETRY_SCHEDULE_IN_MS[number - 1] ?? TWELVE_HOURS_IN_MS;
      if (outcome === 401 || outcome === 404) delay = Math.max(delay, 300_000);
      if (outcome === 503) delay = Math.max(delay, 30_000);
      if (deps.clock.now() + delay - firstAt > ttlInMs) return deadLetter("TimeToLiveExceeded");
      deps.scheduler.after(delay, () => attempt(subscriber, gridEvent, number + 1, firstAt));
    });
  }

  const publisher: EventPublisher = {
    publish(event) {
      const id = deps.random.guid();
      const eventTime = deps.clock.nowIso();
      for (const subscriber of subscribers.values()) {
        if (subscriber.provisioningState !== "Succeeded") continue;
        const gridEvent = toEventGridEvent(event, id, eventTime, subscriber.config.topic);
        if (!matchesSubscriber(subscriber.config, gridEvent)) continue;
        const copies = deps.random.next() < (subscriber.config.duplicateRate ?? 0) ? 2 : 1;
        for (let copy = 0; copy < copies; copy += 1) {
          const delay = Math.floor(deps.random.next() * (subscriber.config.reorderWindowInMs ?? 0));
          const firstAt = deps.clock.now();
          deps.scheduler.after(delay, () => attempt(subscriber, gridEvent, 1, firstAt));
        }
      }
    },
  };

  return {
    publisher,
    async add(config: EventSubscriberConfig): Promise<EventSubscriber> {
      const id = config.id ?? deps.random.guid();
      const subscriber: EventSubscriber = {
        id,
        endpointUrl: config.endpointUrl,
        schema: config.schema ?? "EventGridSchema",
        config: { ...config, id },
        provisioningState: "AwaitingManualAction",
        validationCode: deps.random.guid(),
      };
      subscribers.set(id, subscriber);
      if (config.skipValidation || (await handshake(subscriber))) subscriber.provisioningState = "Succeeded";
      else if (subscriber.schema === "CloudEventSchemaV1_0") subscriber.provisioningState = "Failed";
      return subscriber;
    },
    /** The manual handshake: GET on the validation URL. */
    validate(subscriberId: string, code: string): boolean {
      const subscriber = subscribers.get(subscriberId);
      if (!subscriber || subscriber.validationCode !== code) return false;
      subscriber.provisioningState = "Succeeded";
      return true;
    },
    remove: (id: string): boolean => subscribers.delete(id),
    list: (): EventSubscriber[] => [...subscribers.values()],
    deliveries: (): DeliveryRecord[] => [...deliveries],
    deadLetters: (): DeadLetter[] => [...deadLetters],
    clearDeliveries(): void {
      deliveries.length = 0;
      deadLetters.length = 0;
    },
    clear(): void {
      subscribers.clear();
      deliveries.length = 0;
      deadLetters.length = 0;
    },
    stop(): void {
      stopped = true;
      for (const controller of inflight) controller.abort();
    },
  };
}

export type EventGrid = ReturnType<typeof createEventGrid>;
