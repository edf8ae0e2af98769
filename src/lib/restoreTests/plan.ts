/**
 * Which servers a plan run tests, a pure decision: protected servers whose last test is old enough, oldest
 * (or never tested) first, as many as the concurrency leaves room for. A server is due a day before its cycle
 * ends (PGFLEX_RESTORE_TEST_EVERY_DAYS − 1 days after its last test), so a short day's capacity still keeps
 * every server within the cycle; at most one test per server and day.
 */
const DAY_IN_MS = 86_400_000;

export interface PlanServer {
  serverId: string;
  serverName: string;
}

export interface PlanServerState {
  serverId: string;
  lastStartedAt?: string;
  /** The running test, if any. */
  running?: boolean;
}

export interface PlanInput {
  servers: readonly PlanServer[];
  states: readonly PlanServerState[];
  /** Tests running now, over all servers. */
  running: number;
  concurrency: number;
  everyDays: number;
  now: Date;
  /** One server a person asked for: tested now unless a test of it runs or the concurrency is used up. */
  forced?: boolean;
}

export interface Plan {
  /** In the order to start them. */
  start: PlanServer[];
  skipped: Array<{ serverId: string; reason: string }>;
}

export function planTests(input: PlanInput): Plan {
  const states = new Map(input.states.map((s) => [s.serverId.toLowerCase(), s]));
  const skipped: Plan["skipped"] = [];
  const candidates: Array<PlanServer & { last: number }> = [];
  const today = input.now.toISOString().slice(0, 10);
  for (const server of input.servers) {
    const state = states.get(server.serverId.toLowerCase());
    if (state?.running) {
      skipped.push({ serverId: server.serverId, reason: "A restore test of this server is running." });
      continue;
    }
    const last = state?.lastStartedAt ? Date.parse(state.lastStartedAt) : Number.NEGATIVE_INFINITY;
    if (!input.forced && state?.lastStartedAt) {
      const dueAt = last + Math.max(0, input.everyDays - 1) * DAY_IN_MS;
      if (state.lastStartedAt.slice(0, 10) === today) {
        skipped.push({
          serverId: server.serverId,
          reason: `Tested today already (${state.lastStartedAt}): at most one scheduled test per server a day.`,
        });
        continue;
      }
      if (dueAt > input.now.getTime()) {
        skipped.push({
          serverId: server.serverId,
          reason: `Tested ${state.lastStartedAt}; next due ${new Date(dueAt).toISOString()} (every ${input.everyDays} days).`,
        });
        continue;
      }
    }
    candidates.push({ ...server, last });
  }
  candidates.sort((a, b) => a.last - b.last || a.serverId.localeCompare(b.serverId));
  const room = Math.max(0, input.concurrency - input.running);
  const start = candidates.slice(0, room).map(({ last: _, ...server }) => server);
  for (const server of candidates.slice(room))
    skipped.push({
      serverId: server.serverId,
      reason: `Over the concurrency cap (PGFLEX_RESTORE_TEST_CONCURRENCY=${input.concurrency}, ${input.running + start.length} running): a later run tests it.`,
    });
  return { start, skipped };
}
