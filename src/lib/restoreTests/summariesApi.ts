import { Roles } from "../auth/roles.js";
import { createApiRunner, type HandleApiOptions } from "../http/handler.js";
import { pagedResponse } from "../http/paging.js";
import { parseQuery, queryParameters } from "../http/query.js";
import type { ApiRequest, ApiResponse } from "../http/types.js";
import type { ContextLike } from "../logger.js";
import { decodePageToken, encodePageToken, InvalidContinuationTokenError } from "../util/pageToken.js";
import type { RestoreTestReader, ServerRestoreTestSummary } from "./model.js";

export interface RestoreTestSummariesApiDeps {
  /** Where restore test results are read; absent when this deployment records none (an empty list). */
  reader: Pick<RestoreTestReader, "summaries"> | undefined;
  /** Subscriptions in scope; empty means all. */
  scopes: readonly string[];
}

export type RestoreTestSummariesApiOptions = Omit<HandleApiOptions, "role">;

/** The position a summaries token names: this list's own partition name and the server's id, base64url. */
const PAGE_PARTITION = "restoreTestSummaries";

const serverKey = (serverId: string) => Buffer.from(serverId.toLowerCase(), "utf8").toString("base64url");

export function restoreTestSummaryView(s: ServerRestoreTestSummary): Record<string, unknown> {
  return {
    serverId: s.serverId,
    serverName: s.serverName,
    ...(s.last
      ? {
          last: {
            testId: s.last.testId,
            outcome: s.last.outcome,
            startedAt: s.last.startedAt,
            ...(s.last.endedAt ? { endedAt: s.last.endedAt } : {}),
            ...(s.last.timeToRestoreInSeconds !== undefined
              ? { timeToRestoreInSeconds: s.last.timeToRestoreInSeconds }
              : {}),
            ...(s.last.reason ? { reason: s.last.reason } : {}),
          },
        }
      : {}),
    ...(s.lastPassedAt ? { lastPassedAt: s.lastPassedAt } : {}),
  };
}

export type RestoreTestSummariesApi = ReturnType<typeof createRestoreTestSummariesApi>;

/**
 * `GET /api/restoreTestSummaries?server=&top=&continuationToken=` (Backup.Reader): the latest restore test
 * of each server in scope and when it last passed, in a stable order, paged like the other lists.
 */
export function createRestoreTestSummariesApi(
  deps: RestoreTestSummariesApiDeps,
  options: RestoreTestSummariesApiOptions = {},
) {
  const run = createApiRunner(options);
  const inScope = (serverId: string) =>
    deps.scopes.length === 0 || deps.scopes.includes((serverId.split("/")[2] ?? "").toLowerCase());
  return {
    listSummaries: (request: ApiRequest, context?: ContextLike): Promise<ApiResponse> =>
      run(request, context, Roles.reader, async ({ requestId }) => {
        const q = parseQuery(request, {
          server: queryParameters.serverId(),
          top: queryParameters.integer(1, 1000),
          continuationToken: queryParameters.continuationToken(),
        });
        const after = q.continuationToken ? decodePageToken(q.continuationToken) : undefined;
        if (after && after.partitionKey !== PAGE_PARTITION) throw new InvalidContinuationTokenError();
        // A deployment that records no restore tests has tested no server.
        if (!deps.reader) return pagedResponse(request, [], undefined, requestId);
        const wanted = q.server?.resourceId.toLowerCase();
        const matching: Array<{ key: string; summary: ServerRestoreTestSummary }> = [];
        for await (const summary of deps.reader.summaries()) {
          if (!inScope(summary.serverId)) continue;
          if (wanted !== undefined && summary.serverId.toLowerCase() !== wanted) continue;
          matching.push({ key: serverKey(summary.serverId), summary });
        }
        const sorted = matching
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
          .filter((m) => !after || m.key > after.rowKey);
        const top = q.top ?? 50;
        const page = sorted.slice(0, top);
        const last = page.at(-1);
        const token =
          sorted.length > top && last
            ? encodePageToken({ partitionKey: PAGE_PARTITION, rowKey: last.key })
            : undefined;
        return pagedResponse(
          request,
          page.map((m) => restoreTestSummaryView(m.summary)),
          token,
          requestId,
        );
      }),
  };
}
