import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appView, callApi, queueLength, settled, until, type AppView } from "../../bench/lib/app.js";
import { InProgressStates } from "../../src/lib/domain/protectionStates.js";
import { SERVER_RG, SUBSCRIPTION, startWorld, type World } from "../../bench/lib/world.js";
import { QUEUES } from "../../drills/lib/state.js";
import {
  expectationOf,
  loadCorpus,
  sendApiCase,
  sendEventGridCase,
  type HostileCase,
  type Placeholders,
} from "./corpus.js";

/**
 * The hostile-input corpus (test/fixtures/hostile/*.json) against the real app in the local host, with a
 * protected server, one of its backup jobs and a finished sweep in place: each case gets its expected status and message, and nothing is enqueued,
 * written in ARM, or added to the tables; the host keeps answering.
 */
const OTHER_SUBSCRIPTION = "22222222-2222-4222-8222-222222222222";
const placeholders: Placeholders = {
  sub: SUBSCRIPTION,
  otherSub: OTHER_SUBSCRIPTION,
  jobId: "",
  sweepId: "",
};

let world: World;
let view: AppView;
/** The footprint after the previous case: each case must leave it unchanged. */
let last: Footprint;

interface Footprint {
  queues: number[];
  armRequests: number;
  servers: string[];
}

/** Queue lengths, every ARM request (a processed message reads the server) and the rows with their ETags. */
async function footprint(): Promise<Footprint> {
  // Let a message that may have been enqueued be picked up (host poll interval 50 ms) and finish.
  await new Promise((resolve) => setTimeout(resolve, 150));
  await world.host?.idle();
  const servers: string[] = [];
  for await (const row of view.servers.list()) servers.push(`${row.resourceId}:${row.state}:${row.etag}`);
  return {
    queues: await Promise.all(QUEUES.map((q) => queueLength(view.connection, q))),
    armRequests: (await world.emulator.control.getCounters()).totals.count,
    servers: servers.sort(),
  };
}

beforeAll(async () => {
  world = await startWorld({ timeScale: 1000, queuePollIntervalInMs: 50 });
  view = appView(world);
  const id = await world.addServer("pg-hostile", { tags: { backup: "weekly" }, publishEvent: true });
  expect((await settled(view.servers, id)).state).toBe("Protected");
  // A job in the history and a finished sweep, so cases can name them ({jobId}, {sweepId}).
  const operator = await world.tokens.mint({ roles: ["Backup.Operator"] });
  const backup = await callApi(host(), `servers/${SUBSCRIPTION}/${SERVER_RG}/pg-hostile/backups`, {
    method: "POST",
    token: operator,
    body: "{}",
  });
  expect(backup.status).toBe(202);
  placeholders.jobId = (backup.body as { jobId: string }).jobId;
  const sweep = await callApi(host(), "sweeps", { method: "POST", token: operator, body: "{}" });
  expect(sweep.status).toBe(202);
  placeholders.sweepId = (sweep.body as { id: string }).id;
  await until(async () => {
    const read = await callApi(host(), `sweeps/${placeholders.sweepId}`, { token: operator });
    return (read.body as { status?: string }).status === "Running" ? undefined : read;
  }, "the sweep to finish");
  last = await footprint();
});
afterAll(async () => world?.stop());

function host() {
  if (!world.host) throw new Error("no host");
  return world.host;
}

/** The footprint once the worker has settled what a case enqueued: no row in progress, queues as `before`. */
async function settledFootprint(before: Footprint): Promise<Footprint> {
  return until(async () => {
    const now = await footprint();
    const busy = now.servers.some((s) =>
      (InProgressStates as readonly string[]).includes(s.split(":")[1] ?? ""),
    );
    return !busy && now.queues.every((n, i) => n === before.queues[i]) ? now : undefined;
  }, "the worker to settle the case's messages");
}

async function expectHarmless(c: HostileCase, send: () => Promise<unknown>): Promise<void> {
  const before = last;
  const answer = await send();
  // A case that reaches the worker reads the server in ARM; what must not change is what it leaves behind.
  last = c.settles ? await settledFootprint(before) : await footprint();
  expect(answer, c.name).toEqual(expectationOf(c, placeholders));
  if (c.settles) {
    expect({ queues: last.queues, servers: last.servers }, `${c.name}: queues and rows once settled`).toEqual(
      {
        queues: before.queues,
        servers: before.servers,
      },
    );
  } else {
    expect(last, `${c.name}: queues, ARM requests and rows`).toEqual(before);
  }
  const health = await fetch(`${host().url}/api/health`, {
    headers: { "x-functions-key": host().functionKey },
  });
  expect(health.status, `${c.name}: the host still answers`).toBe(200);
}

describe("hostile input corpus", () => {
  const api = loadCorpus("api").cases;
  const eventGrid = loadCorpus("eventgrid").cases;

  it("holds at least 40 cases across the HTTP API and the Event Grid endpoint, each named once", () => {
    expect(api.length + eventGrid.length).toBeGreaterThanOrEqual(40);
    expect(new Set(api.map((c) => c.name)).size).toBe(api.length);
    expect(new Set(eventGrid.map((c) => c.name)).size).toBe(eventGrid.length);
  });

  // A known gap runs as `it.fails`: it documents the broken invariant and turns red once the cause is fixed.
  for (const c of api) {
    (c.knownGap ? it.fails : it)(`API: refuses ${c.name} without side effects`, async () => {
      await expectHarmless(c, () => sendApiCase(c, host(), world.tokens, placeholders));
    });
  }
  for (const c of eventGrid) {
    (c.knownGap ? it.fails : it)(`Event Grid: handles ${c.name} without side effects`, async () => {
      await expectHarmless(c, () => sendEventGridCase(c, host(), placeholders));
    });
  }
});
