import { describe, expect, it } from "vitest";
import { purgeDeletedServers } from "../../src/lib/protection/purge.js";
import { createInMemoryAuditLog } from "../../src/lib/store/audit.js";
import { createInMemoryServerStore, type ServerRecord } from "../../src/lib/store/servers.js";
import { parseServerId } from "../../src/lib/domain/serverId.js";
import { serverId } from "./fakes.js";

const NOW = new Date("2026-11-25T10:00:00.000Z");
const DAY = 86_400_000;

function aRow(name: string, state: ServerRecord["state"], daysAgo: number): Omit<ServerRecord, "etag"> {
  return {
    ...parseServerId(serverId(name))!,
    state,
    attempts: 0,
    updatedAt: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
  };
}

describe("purge of Deleted server rows", () => {
  it("removes Deleted rows past the history retention, with an audit entry each, and keeps the rest", async () => {
    const servers = createInMemoryServerStore();
    const audit = createInMemoryAuditLog(() => NOW);
    await servers.create(aRow("pg-gone-long-ago", "Deleted", 91));
    await servers.create(aRow("pg-gone-lately", "Deleted", 89));
    await servers.create(aRow("pg-quiet", "Protected", 400));

    const removed = await purgeDeletedServers({ servers, audit, retentionDays: 90 }, NOW);

    const gone = serverId("pg-gone-long-ago").toLowerCase();
    expect(removed).toEqual([gone]);
    expect([...servers.rows.values()].map((r) => `${r.serverName}:${r.state}`).sort()).toEqual([
      "pg-gone-lately:Deleted",
      "pg-quiet:Protected",
    ]);
    expect(audit.entries).toMatchObject([
      {
        action: "purgeRow",
        target: gone,
        cause: "purgeHistory",
        detail:
          "Deleted row removed: recorded Deleted before 2026-08-27T10:00:00.000Z, past the 90-day history retention (PGFLEX_HISTORY_RETENTION_DAYS).",
      },
    ]);
  });
});
