import type { InvocationContext, Timer } from "@azure/functions";
import { describe, expect, it } from "vitest";
import { parseSchedule, resolveSettingReference, scheduleTimer } from "../../dev/host/timers.js";
import { startLocalHost } from "../../dev/host/index.js";
import type { FunctionDeclaration } from "../../src/functions/registry.js";
import { captureLogger, runThroughAdmin, useLocalHost, waitFor } from "../support/localHost.js";

const runs: Array<{ timer: Timer; functionName: string; triggerType: string }> = [];
const queued: unknown[] = [];
const fixtures: FunctionDeclaration[] = [
  {
    kind: "timer",
    name: "pollJobs",
    options: {
      schedule: "%TEST_POLL_SCHEDULE%",
      handler: (timer: Timer, context: InvocationContext) => {
        runs.push({ timer, functionName: context.functionName, triggerType: context.options.trigger.type });
      },
    },
  },
  {
    kind: "storageQueue",
    name: "protectServer",
    options: {
      queueName: "protect-requests",
      connection: "AzureWebJobsStorage",
      handler: (m) => void queued.push(m),
    },
  },
  { kind: "http", name: "health", options: { authLevel: "anonymous", handler: () => ({ body: "ok" }) } },
];

describe("local host: timers and the admin API", () => {
  const host = useLocalHost(() => ({
    declarations: fixtures,
    keys: { masterKey: "mk", functionKey: "fk" },
    // The queue listener is not under test here: an unreachable Storage only makes it log and back off.
    env: { TEST_POLL_SCHEDULE: "0 */1 * * * *", AzureWebJobsStorage: "UseDevelopmentStorage=true" },
    queuePollIntervalInMs: 60_000,
  }));
  const admin = (name: string, body: unknown, key = "mk") =>
    fetch(`${host.url}/admin/functions/${name}`, {
      method: "POST",
      headers: { "x-functions-key": key, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("runs a timer function on demand with 202 and hands it a Timer", async () => {
    runs.length = 0;
    const res = await admin("pollJobs", {});
    expect(res.status).toBe(202);
    const run = await waitFor(() => runs[0], "the timer invocation");
    expect(run.functionName).toBe("pollJobs");
    expect(run.triggerType).toBe("timerTrigger");
    expect(run.timer.isPastDue).toBe(false);
    expect(run.timer.schedule).toEqual({ adjustForDST: true });
    expect(Object.keys(run.timer.scheduleStatus).sort()).toEqual(["last", "lastUpdated", "next"]);
  });

  it("hands a queue function the admin input, parsed when it is JSON", async () => {
    queued.length = 0;
    expect((await admin("protectServer", { input: '{"serverId":"a"}' })).status).toBe(202);
    expect((await admin("protectServer", { input: "plain text" })).status).toBe(202);
    await host.idle();
    expect(queued).toEqual([{ serverId: "a" }, "plain text"]);
  });

  it("refuses the admin API without the master key, for unknown functions and for bad bodies", async () => {
    const cases = [
      [
        await admin("pollJobs", {}, "fk"),
        401,
        "The key sent is not valid here: this endpoint needs the master key.",
      ],
      [await admin("nope", {}), 404, 'No function named "nope".'],
      [await admin("pollJobs", "{not json"), 400, "The body is not valid JSON."],
      [await admin("pollJobs", { input: 5 }), 400, "input must be a string."],
      [await admin("health", {}), 400, "health is an HTTP function: call its route instead."],
    ] as const;
    for (const [res, status, reason] of cases)
      expect([res.status, await res.text()]).toEqual([status, reason]);
  });

  it("passes trigger metadata given to invoke", async () => {
    const seen: unknown[] = [];
    const local = await startLocalHost({
      port: 0,
      logger: captureLogger(),
      declarations: [
        {
          kind: "storageQueue",
          name: "q",
          options: {
            queueName: "q",
            connection: "C",
            handler: (_m: unknown, c: InvocationContext) => void seen.push(c.triggerMetadata),
          },
        },
      ],
      env: { C: "UseDevelopmentStorage=true" },
      queuePollIntervalInMs: 60_000,
    });
    try {
      await local.invoke("q", { a: 1 }, { triggerMetadata: { dequeueCount: 5 } });
      expect(seen).toEqual([{ dequeueCount: 5 }]);
    } finally {
      await local.stop();
    }
  });

  it("runs a pollJobs timer through the admin helper", async () => {
    runs.length = 0;
    expect((await runThroughAdmin(host, "pollJobs")).status).toBe(202);
    await waitFor(() => runs[0], "the timer invocation");
  });

  it("reports the host status to the master key only", async () => {
    const ok = await fetch(`${host.url}/admin/host/status`, { headers: { "x-functions-key": "mk" } });
    expect([ok.status, await ok.json()]).toEqual([200, { state: "Running", version: "local", functions: 3 }]);
    expect((await fetch(`${host.url}/admin/host/status?code=fk`)).status).toBe(401);
  });

  it("runs a timer in process through invoke and resolves when it is done", async () => {
    runs.length = 0;
    await host.invoke("pollJobs");
    expect(runs).toHaveLength(1);
  });
});

describe("timer schedules", () => {
  it("reads 6-field NCRONTAB in UTC", () => {
    const next = parseSchedule("0 30 2 * * *", "t").next(new Date("2026-03-01T00:00:00Z"));
    expect(next?.toISOString()).toBe("2026-03-01T02:30:00.000Z");
  });

  it("requires both day of month and weekday to match, as NCrontab does", () => {
    // 13th that is a Friday, after 2026-01-01: February 13, 2026.
    const next = parseSchedule("0 0 0 13 * 5", "t").next(new Date("2026-01-01T00:00:00Z"));
    expect(next?.toISOString()).toBe("2026-02-13T00:00:00.000Z");
  });

  it("accepts an hh:mm:ss interval", () => {
    expect(parseSchedule("00:05:00", "t").next(new Date("2026-01-01T00:01:00Z"))?.toISOString()).toBe(
      "2026-01-01T00:05:00.000Z",
    );
  });

  it("refuses a 5-field expression with the function's name", () => {
    expect(() => parseSchedule("*/5 * * * *", "pollJobs")).toThrow(
      'Timer pollJobs: "*/5 * * * *" must be a 6-field NCRONTAB expression (sec min hour day month weekday).',
    );
  });

  it("resolves %Setting% references and names a missing one", () => {
    expect(resolveSettingReference("%S%", { S: "0 0 * * * *" }, "x")).toBe("0 0 * * * *");
    expect(() => resolveSettingReference("%S%", {}, "Timer t: the schedule")).toThrow(
      "Timer t: the schedule refers to the app setting S, which is not set.",
    );
  });

  it("runs a runOnStartup timer once at start when timers are on", async () => {
    let count = 0;
    const host = await startLocalHost({
      port: 0,
      logger: captureLogger(),
      declarations: [
        {
          kind: "timer",
          name: "sweep",
          options: { schedule: "0 0 3 * * *", runOnStartup: true, handler: () => void count++ },
        },
      ],
    });
    try {
      await waitFor(() => (count > 0 ? count : undefined), "the startup run");
      await host.idle();
      expect(count).toBe(1);
    } finally {
      await host.stop();
    }
  });

  it("refuses to start when a schedule is invalid", async () => {
    await expect(
      startLocalHost({
        port: 0,
        logger: captureLogger(),
        declarations: [
          { kind: "timer", name: "bad", options: { schedule: "every minute", handler: () => undefined } },
        ],
      }),
    ).rejects.toThrow(
      'Timer bad: "every minute" must be a 6-field NCRONTAB expression (sec min hour day month weekday).',
    );
  });
});

describe("timer scheduling", () => {
  it("fires at each occurrence, one run at a time, and stops", async () => {
    const fired: Timer[] = [];
    let last = Date.now();
    const everyFewMs = { next: (from: Date) => new Date(Math.max(from.getTime(), last) + 10) };
    const timer = scheduleTimer(everyFewMs, async (t) => {
      fired.push(t);
      last = Date.now();
    });
    await waitFor(() => (fired.length >= 3 ? true : undefined), "three runs");
    timer.stop();
    const count = fired.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fired.length).toBe(count);
    expect(fired.every((t) => t.schedule.adjustForDST)).toBe(true);
  });
});
