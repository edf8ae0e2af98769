/**
 * The Event Grid extension's webhook (`/runtime/webhooks/EventGrid?functionName=<name>`): the
 * subscription validation handshake, and deliveries in the Event Grid schema (always an array) or
 * CloudEvents 1.0 (one event, or a batch array). The handler runs once per event; any failure
 * answers 500 so that Event Grid retries the delivery.
 */

export const VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent";

export type EventGridDelivery =
  { kind: "validation"; validationCode: string } | { kind: "events"; events: Array<Record<string, unknown>> };

/** Parses a delivery; throws a one-line reason (the caller answers 400). */
export function parseDelivery(eventType: string, body: unknown): EventGridDelivery {
  const events = Array.isArray(body) ? body : isObject(body) && isCloudEvent(body) ? [body] : undefined;
  if (!events) {
    throw new TypeError(
      "The body must be an array of events (Event Grid schema or CloudEvents) or a single CloudEvent.",
    );
  }
  if (events.length === 0) throw new TypeError("The delivery holds no events.");
  events.forEach((event, index) => {
    const problem = problemWith(event);
    if (problem) throw new TypeError(`Event ${index}: ${problem}.`);
  });
  const typed = events as Array<Record<string, unknown>>;
  const first = typed[0] as Record<string, unknown>;
  if (
    eventType === "subscriptionvalidation" ||
    (typed.length === 1 && first["eventType"] === VALIDATION_EVENT_TYPE)
  ) {
    const data = first["data"];
    const code = isObject(data) ? data["validationCode"] : undefined;
    if (first["eventType"] !== VALIDATION_EVENT_TYPE || typeof code !== "string" || code === "") {
      throw new TypeError(
        `A subscription validation delivery must hold one ${VALIDATION_EVENT_TYPE} with data.validationCode.`,
      );
    }
    return { kind: "validation", validationCode: code };
  }
  return { kind: "events", events: typed };
}

function problemWith(event: unknown): string | undefined {
  if (!isObject(event)) return "is not a JSON object";
  // Event Grid sends `subject: ""` in its own validation event, so an empty subject is a subject.
  const required = isCloudEvent(event)
    ? ["id", "source", "type"]
    : ["id", "subject", "eventType", "eventTime"];
  const missing = required.filter(
    (key) => typeof event[key] !== "string" || (event[key] === "" && key !== "subject"),
  );
  if (missing.length > 0) {
    const schema = isCloudEvent(event) ? "CloudEvents 1.0" : "the Event Grid schema";
    return `missing ${missing.join(", ")} required by ${schema}`;
  }
  if (isCloudEvent(event) && specVersion(event) !== "1.0")
    return `specversion "${String(specVersion(event))}" is not 1.0`;
  return undefined;
}

/** The CloudEvents attribute is `specversion`; Azure's own samples also spell it `specVersion`. */
function specVersion(event: Record<string, unknown>): unknown {
  return event["specversion"] ?? event["specVersion"];
}

function isCloudEvent(event: Record<string, unknown>): boolean {
  return specVersion(event) !== undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
