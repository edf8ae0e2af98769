import { describe, expect, it } from "vitest";
import type { CliServices } from "../../src/cli/services.js";
import type { SweepReport } from "../../src/lib/compliance/sweeper.js";
import type { RestoreTestSignal, SweepRow } from "../../src/lib/store/sweeps.js";
import { RESTORE_TESTS_OFF_NOTE } from "../../src/lib/compliance/restoreUntested.js";
import { aSweepSummary, serverIdOf } from "../fixtures/compliance/estate.js";
import { runCliCaptured } from "../support/cli.js";

const row = (name: string, extra: Partial<SweepRow> = {}): SweepRow => ({
  serverId: serverIdOf(name),
  subscriptionId: "11111111-1111-1111-1111-111111111111",
  class: "Protected",
  reason: "Protected by pgflex-weekly.",
  fix: "",
  ...extra,
});

function aReport(rows: SweepRow[], restoreTests?: RestoreTestSignal): SweepReport {
  return {
    rows,
    summary: aSweepSummary("20261125T120000000Z-abcd1234", {
      status: "Complete",
      dryRun: true,
      cause: "cli",
      startedAt: "2026-11-25T12:00:00.000Z",
      deadlineAt: "2026-11-25T14:00:00.000Z",
      subscriptionIds: [],
      total: rows.length,
      counts: { Protected: rows.length },
      compliancePercent: 100,
      ...(restoreTests ? { restoreTests } : {}),
    }),
  };
}

async function sweep(report: SweepReport) {
  const { code, stdout } = await runCliCaptured(["sweep", "--dry-run"], {
    env: { AzureWebJobsStorage: "UseDevelopmentStorage=true" },
    services: () => ({ sweep: async () => report }) as unknown as CliServices,
  });
  return { code, out: stdout };
}

describe("pgflex-autoprotect sweep: RestoreUntested", () => {
  it("lists protected servers without a recent passed restore test apart from the classes, with their last pass", async () => {
    const { code, out } = await sweep(
      aReport(
        [
          row("orders-db", { restoreUntested: true, lastRestoreTestPassedAt: "2026-10-16T02:00:00.000Z" }),
          row("billing-db"),
          row("crm-db", { restoreUntested: true }),
        ],
        { enabled: true, maxAgeDays: 35, untested: 2 },
      ),
    );
    expect(out).toContain("Sweep (dry run): 3 servers, 100% compliant before remediation\n");
    expect(out).toContain(
      "RestoreUntested: 2 protected servers without a passed restore test in 35 days (not in the compliance percentage)\n" +
        "SERVER     CLASS      LAST PASSED TEST\n" +
        "---------  ---------  ------------------------\n" +
        "orders-db  Protected  2026-10-16T02:00:00.000Z\n" +
        "crm-db     Protected  never\n",
    );
    expect(out).not.toContain("billing-db");
    expect(code).toBe(0);
  });

  it("says once that restore tests are off instead of listing every server", async () => {
    const { out } = await sweep(
      aReport([row("orders-db"), row("billing-db")], {
        enabled: false,
        maxAgeDays: 35,
        untested: 0,
        note: RESTORE_TESTS_OFF_NOTE,
      }),
    );
    expect(out.split(RESTORE_TESTS_OFF_NOTE)).toHaveLength(2);
    expect(out).not.toContain("RestoreUntested:");
  });
});
