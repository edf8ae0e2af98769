import { TERMINAL_JOB_STATUSES } from "../../src/lib/domain/jobStatuses.js";
import { describe, expect, it } from "vitest";
import { renderDashboard } from "../../src/dashboard/page.js";
import { InProgressStates, SatisfiedStates } from "../../src/lib/domain/protectionStates.js";
import { dashboard } from "../../src/functions/dashboard.js";
import { declarations } from "../../src/functions/registry.js";

describe("dashboard page", () => {
  it("inlines the page script and Chart.js under a CSP that allows only this response's nonce", async () => {
    const page = await renderDashboard("bm9uY2UtMQ==");
    expect(page.headers["content-security-policy"]).toBe(
      "default-src 'none'; script-src 'nonce-bm9uY2UtMQ=='; style-src 'nonce-bm9uY2UtMQ=='; img-src data:; " +
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(page.headers["cache-control"]).toBe("no-store");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(page.body.match(/<script nonce="bm9uY2UtMQ==">/g)).toHaveLength(2);
    expect(page.body).toContain("Chart.js v4.");
    expect(page.body).toContain("fetch(path, { ...init, headers })");
    expect(page.body).not.toContain("@inline");
    expect(page.body.match(/<\/script>/gi)).toHaveLength(3); // nothing inlined closes a script early
  });

  it("hands the page script the server's own state sets as a JSON data block under the nonce", async () => {
    const page = await renderDashboard("bm9uY2UtMQ==");
    const block = /<script type="application\/json" id="states" nonce="bm9uY2UtMQ==">([^<]*)<\/script>/.exec(
      page.body,
    );
    expect(JSON.parse(block?.[1] ?? "null")).toEqual({
      inProgress: [...InProgressStates],
      satisfied: [...SatisfiedStates],
      unsupported: ["Unsupported"],
      terminalJobs: [...TERMINAL_JOB_STATUSES],
    });
    expect(TERMINAL_JOB_STATUSES).toEqual(expect.arrayContaining(["Cancelled", "Canceled"]));
  });

  it("answers with a fresh nonce each time", async () => {
    const a = await dashboard({ headers: new Headers() } as never);
    const b = await dashboard({ headers: new Headers() } as never);
    const nonce = (csp: unknown) => /'nonce-([^']+)'/.exec(String(csp))?.[1];
    expect(a.status).toBe(200);
    expect(nonce(a.headers && (a.headers as Record<string, string>)["content-security-policy"])).not.toBe(
      nonce(b.headers && (b.headers as Record<string, string>)["content-security-policy"]),
    );
  });

  it("is declared as GET /api/dashboard behind the function key", () => {
    const declaration = declarations().find((d) => d.name === "dashboard");
    expect(declaration).toMatchObject({
      kind: "http",
      options: { methods: ["GET"], route: "dashboard", authLevel: "function" },
    });
  });
});
