import { EventGridDeserializer } from "@azure/eventgrid";
import { readBackupTag } from "../domain/backupTag.js";
import { parseServerId } from "../domain/serverId.js";

/** The ARM events protection listens to. */
export const ResourceEventTypes = {
  writeSuccess: "Microsoft.Resources.ResourceWriteSuccess",
  deleteSuccess: "Microsoft.Resources.ResourceDeleteSuccess",
  /** POST actions (start, stop, restart); only a server's start is handled. */
  actionSuccess: "Microsoft.Resources.ResourceActionSuccess",
} as const;

const SERVER_WRITE = "microsoft.dbforpostgresql/flexibleservers/write";
const SERVER_DELETE = "microsoft.dbforpostgresql/flexibleservers/delete";
const TAGS_WRITE = "microsoft.resources/tags/write";
/** A stopped server started (by a person, or by Azure after seven days): it can be protected now. */
const SERVER_START = "microsoft.dbforpostgresql/flexibleservers/start/action";
/** Tags written through the Tags API land on `{resourceId}/providers/Microsoft.Resources/tags/default`. */
const TAGS_SUFFIX = /\/providers\/microsoft\.resources\/tags\/default$/i;

export type ResourceEventKind = "write" | "tags" | "delete" | "start";

/** An accepted event, reduced to what protection needs. */
export interface ResourceEvent {
  eventId: string;
  eventType: string;
  kind: ResourceEventKind;
  /** Server resource id, lower-cased. */
  resourceId: string;
  subscriptionId: string;
  operationName: string;
  schema: "EventGrid" | "CloudEvents";
}

export type ParsedEvent =
  | { accepted: true; event: ResourceEvent }
  /** `debug`: an event type or operation this app does not handle. `warn`: malformed or suspicious input. */
  | { accepted: false; level: "debug" | "warn"; reason: string; eventId?: string };

const deserializer = new EventGridDeserializer();

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Event ids go into rows, messages and logs: keep them short and printable. */
function safeId(v: unknown): string | undefined {
  const s = str(v);
  return s && /^[\x21-\x7e]{1,128}$/.test(s) ? s : undefined;
}

/**
 * Parses one delivery (a single event or a batch, Event Grid or CloudEvents 1.0 schema, as an object or
 * JSON text) with `EventGridDeserializer`, then keeps server writes, tag writes, deletes and starts.
 */
export async function parseResourceEvents(
  payload: unknown,
  options: { backupTag?: string } = {},
): Promise<ParsedEvent[]> {
  let value: unknown = payload;
  if (typeof value === "string" || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString());
    } catch {
      return [{ accepted: false, level: "warn", reason: "payload is not JSON" }];
    }
  }
  const items = Array.isArray(value) ? value : [value];
  const out: ParsedEvent[] = [];
  for (const item of items) out.push(await parseOne(item, options.backupTag ?? "backup"));
  return out;
}

async function parseOne(item: unknown, backupTag: string): Promise<ParsedEvent> {
  if (!isObject(item)) return { accepted: false, level: "warn", reason: "event is not a JSON object" };
  const eventId = safeId(item.id);
  const cloud = "specversion" in item || "specVersion" in item;
  let eventType: string;
  let subject: string | undefined;
  let data: unknown;
  try {
    if (cloud) {
      // The CloudEvents delete sample spells `specVersion`; the deserializer wants `specversion`.
      const normalised: Record<string, unknown> = {
        ...item,
        specversion: item.specversion ?? item.specVersion,
      };
      delete normalised.specVersion;
      const [e] = await deserializer.deserializeCloudEvents(normalised);
      if (!e) return { accepted: false, level: "warn", reason: "empty CloudEvent", eventId };
      eventType = e.type;
      subject = e.subject;
      data = e.data;
    } else {
      // The Functions trigger may hand over an event without envelope fields this app does not use.
      const [e] = await deserializer.deserializeEventGridEvents({
        topic: "",
        dataVersion: "",
        metadataVersion: "1",
        ...item,
      });
      if (!e) return { accepted: false, level: "warn", reason: "empty Event Grid event", eventId };
      eventType = e.eventType;
      subject = e.subject;
      data = e.data;
    }
  } catch (e) {
    return {
      accepted: false,
      level: "warn",
      reason: `malformed ${cloud ? "CloudEvent" : "Event Grid event"}: ${e instanceof Error ? e.message : String(e)}`,
      eventId,
    };
  }
  if (!eventId) return { accepted: false, level: "warn", reason: "event id is missing or not printable" };
  if (!(Object.values(ResourceEventTypes) as string[]).includes(eventType)) {
    return {
      accepted: false,
      level: "debug",
      reason: `event type ${JSON.stringify(eventType)} is not handled`,
      eventId,
    };
  }
  if (!isObject(data)) return { accepted: false, level: "warn", reason: "event has no data object", eventId };
  const operationName = str(data.operationName) ?? "";
  const op = operationName.toLowerCase();
  let kind: ResourceEventKind;
  if (eventType === ResourceEventTypes.deleteSuccess && op === SERVER_DELETE) kind = "delete";
  else if (eventType === ResourceEventTypes.writeSuccess && op === SERVER_WRITE) kind = "write";
  else if (eventType === ResourceEventTypes.writeSuccess && op === TAGS_WRITE) kind = "tags";
  else if (eventType === ResourceEventTypes.actionSuccess && op === SERVER_START) kind = "start";
  else {
    return {
      accepted: false,
      level: "debug",
      reason: `operation ${JSON.stringify(operationName.slice(0, 200))} is not handled`,
      eventId,
    };
  }
  // A *Success event always carries status Succeeded; anything else is forged or malformed, so it is not acted on.
  const status = str(data.status);
  if (status !== undefined && status.toLowerCase() !== "succeeded") {
    return {
      accepted: false,
      level: "warn",
      reason: `a ${eventType.slice(eventType.lastIndexOf(".") + 1)} event with status ${JSON.stringify(status.slice(0, 50))} is contradictory`,
      eventId,
    };
  }
  const rawId = (str(subject) ?? str(data.resourceUri) ?? "").replace(TAGS_SUFFIX, "");
  const server = parseServerId(rawId);
  if (!server) {
    // A tags write on something other than a flexible server is ordinary: not ours.
    if (kind === "tags")
      return {
        accepted: false,
        level: "debug",
        reason: "tags were written on a resource that is not a flexible server",
        eventId,
      };
    return {
      accepted: false,
      level: "warn",
      reason: `subject ${JSON.stringify(rawId.slice(0, 300))} is not a flexible server id`,
      eventId,
    };
  }
  const resourceUri = str(data.resourceUri)?.replace(TAGS_SUFFIX, "");
  if (resourceUri && resourceUri.toLowerCase() !== server.resourceId) {
    return {
      accepted: false,
      level: "warn",
      reason: "subject and data.resourceUri name different resources",
      eventId,
    };
  }
  const dataSub = str(data.subscriptionId);
  if (dataSub && dataSub.toLowerCase() !== server.subscriptionId) {
    return {
      accepted: false,
      level: "warn",
      reason: "data.subscriptionId does not match the subject",
      eventId,
    };
  }
  // A tag the sweep calls malformed is not acted on here either: it needs a person, not a protection run.
  const tag = readBackupTag(data.tags, backupTag);
  if (tag.kind === "malformed") {
    return {
      accepted: false,
      level: "warn",
      reason:
        tag.defect === "unprintable"
          ? `the "${backupTag}" tag value has characters this app does not accept`
          : `the "${backupTag}" tag is malformed: ${tag.problem}`,
      eventId,
    };
  }
  return {
    accepted: true,
    event: {
      eventId,
      eventType,
      kind,
      resourceId: server.resourceId,
      subscriptionId: server.subscriptionId,
      operationName,
      schema: cloud ? "CloudEvents" : "EventGrid",
    },
  };
}
