import { readFileSync } from "node:fs";
import { Metrics, ProtectionSpanSteps } from "../../src/lib/telemetry/index.js";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type PredictedResource,
  type Snapshot,
  locateBicep,
  repoRoot,
  skipReason,
  snapshotMain,
} from "./bicep.js";

const bicep = locateBicep();
const reason = skipReason(bicep);

/** What the app emits through OpenTelemetry, each metric with its attributes: the app's own list. */
const EMITTED_METRICS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.values(Metrics).map((m) => [m.name, m.attributes]),
);
const EMITTED_SPANS = ProtectionSpanSteps.map((step) => `protection.${step}`);
/** Named by an alert rule before the app emits it: arrives with restore tests (docs/monitoring.md says so). */
const ANNOUNCED_METRICS: Readonly<Record<string, readonly string[]>> = {};

const APP_SUB = "11111111-1111-1111-1111-111111111111";
const base = { environmentName: "dev", location: "westeurope" };

function read(path: string): string {
  return readFileSync(join(repoRoot, path), "utf8");
}

function deployed(result: Snapshot): PredictedResource[] {
  if (!result.ok) throw new Error(`bicep snapshot failed:\n${result.output}`);
  return result.resources;
}

function ofType(resources: PredictedResource[], type: string): PredictedResource[] {
  return resources.filter((r) => r.type === type);
}

interface MonitorQuery {
  /** Where the query lives, for failure messages: `workbook <item>` or `rule <name>`. */
  where: string;
  query: string;
}

interface WorkbookItem {
  type: number;
  name?: string;
  content?: { query?: string; items?: WorkbookItem[] };
}

function workbookQueries(workbook: PredictedResource): MonitorQuery[] {
  const data = JSON.parse(String(workbook.properties?.serializedData)) as { items: WorkbookItem[] };
  const walk = (items: WorkbookItem[]): MonitorQuery[] =>
    items.flatMap((item) => [
      ...(item.type === 3 && item.content?.query
        ? [{ where: `workbook ${item.name ?? "?"}`, query: item.content.query }]
        : []),
      ...walk(item.content?.items ?? []),
    ]);
  return walk(data.items);
}

function ruleQueries(rules: PredictedResource[]): MonitorQuery[] {
  return rules.flatMap((rule) =>
    ((rule.properties?.criteria as { allOf: { query: string }[] }).allOf ?? []).map((c) => ({
      where: `rule ${rule.name}`,
      query: c.query,
    })),
  );
}

/** The names a query filters on: `Name == "x"` and `Name in ("x", "y")`. */
function namesIn(query: string): string[] {
  const equal = [...query.matchAll(/\bName\s*==\s*"([^"]+)"/g)].map((m) => m[1] ?? "");
  const lists = [...query.matchAll(/\bName\s+in\s*\(([^)]*)\)/g)].flatMap((m) =>
    [...(m[1] ?? "").matchAll(/"([^"]+)"/g)].map((n) => n[1] ?? ""),
  );
  return [...equal, ...lists];
}

function attributesIn(query: string): string[] {
  return [...query.matchAll(/\bProperties\["([^"]+)"\]/g)].map((m) => m[1] ?? "");
}

describe.skipIf(reason !== undefined)(
  `Azure Monitor workbook and alert rules${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    let quiet: PredictedResource[];
    let notified: PredictedResource[];

    beforeAll(async () => {
      const path = bicep.found ? bicep.path : "";
      const [a, b] = await Promise.all([
        snapshotMain(path, base, APP_SUB),
        snapshotMain(
          path,
          {
            ...base,
            monitorAlertEmails: " oncall@example.com, dba@example.com ",
            monitorAlertWebhookUrl: "https://hooks.example.com/pgflex",
          },
          APP_SUB,
        ),
      ]);
      quiet = deployed(a);
      notified = deployed(b);
    }, 240_000);

    function workspaceId(resources: PredictedResource[]): string {
      const [workspace] = ofType(resources, "Microsoft.OperationalInsights/workspaces");
      if (!workspace) throw new Error("no Log Analytics workspace");
      return workspace.id;
    }

    function allQueries(resources: PredictedResource[]): MonitorQuery[] {
      const [workbook] = ofType(resources, "Microsoft.Insights/workbooks");
      if (!workbook) throw new Error("no workbook");
      return [
        ...workbookQueries(workbook),
        ...ruleQueries(ofType(resources, "Microsoft.Insights/scheduledQueryRules")),
      ];
    }

    it("deploys one workbook over the app's Log Analytics workspace", () => {
      const workbooks = ofType(quiet, "Microsoft.Insights/workbooks");
      expect(workbooks).toHaveLength(1);
      const workbook = workbooks[0] as PredictedResource;
      expect(workbook.properties?.sourceId).toBe(workspaceId(quiet));
      const data = JSON.parse(String(workbook.properties?.serializedData)) as {
        version: string;
        fallbackResourceIds: string[];
      };
      expect(data.version).toBe("Notebook/1.0");
      expect(data.fallbackResourceIds).toEqual([workspaceId(quiet)]);
      expect(
        workbookQueries(workbook)
          .map((q) => q.where)
          .sort(),
      ).toEqual(
        [
          "compliance",
          "servers-by-class",
          "attention",
          "stale",
          "jobs",
          "jobs-by-origin",
          "protection-duration",
          "protection-steps",
          "arm",
        ]
          .map((name) => `workbook ${name}`)
          .sort(),
      );
    });

    it("deploys the four alert rules, each a log query over the workspace", () => {
      const rules = ofType(quiet, "Microsoft.Insights/scheduledQueryRules");
      expect(rules.map((r) => r.name.replace(/^pgflex-[a-z0-9]+-/, "")).sort()).toEqual(
        ["backup-job-failed", "backup-stale", "restore-test-failed", "unprotected"].sort(),
      );
      for (const rule of rules) {
        expect(rule.properties?.scopes, rule.name).toEqual([workspaceId(quiet)]);
        expect(rule.properties?.enabled, rule.name).toBe(true);
      }
    });

    it("names in every query only metrics and spans the app emits, and their attributes", () => {
      const problems: string[] = [];
      const used = new Set<string>();
      for (const { where, query } of allQueries(quiet)) {
        const names = namesIn(query);
        if (names.length === 0) problems.push(`${where}: names no metric or span`);
        const attributes = new Set<string>();
        for (const name of names) {
          used.add(name);
          const known = EMITTED_METRICS[name] ?? ANNOUNCED_METRICS[name];
          if (known) known.forEach((a) => attributes.add(a));
          else if (!EMITTED_SPANS.includes(name))
            problems.push(`${where}: "${name}" is not emitted by the app`);
        }
        for (const attribute of attributesIn(query)) {
          if (!attributes.has(attribute))
            problems.push(`${where}: attribute "${attribute}" is not one of ${names.join(", ")}'s`);
        }
      }
      expect(problems).toEqual([]);
      // The figures the issue asks for are all on screen.
      expect([...used].sort()).toEqual(
        expect.arrayContaining([
          "pgflex.servers",
          "pgflex.compliance.percent",
          "pgflex.backup.jobs",
          "pgflex.backup.last_success.age",
          "pgflex.protection.duration",
          "pgflex.restore_tests",
        ]),
      );
    });

    it("queries the workspace's tables and columns, never the Application Insights resource's", () => {
      // A rule scoped to the workspace finds nothing in customMetrics: AppMetrics has Name, Sum, ItemCount, Properties.
      const classic = /\b(customMetrics|customDimensions|valueSum|valueCount|valueMax|timestamp)\b/;
      const wrong = allQueries(quiet)
        .filter((q) => classic.test(q.query))
        .map((q) => q.where);
      expect(wrong).toEqual([]);
    });

    it("fires the stale-backup rule when a server's last successful backup is older than 8 days", () => {
      const stale = ofType(quiet, "Microsoft.Insights/scheduledQueryRules").find((r) =>
        r.name.endsWith("-backup-stale"),
      );
      const [criterion] = (stale?.properties?.criteria as { allOf: Record<string, unknown>[] }).allOf;
      expect(criterion).toMatchObject({
        metricMeasureColumn: "AgeHours",
        operator: "GreaterThan",
        threshold: 192,
        dimensions: expect.arrayContaining([{ name: "Server", operator: "Include", values: ["*"] }]),
      });
      expect(String(criterion?.query)).toContain('Name == "pgflex.backup.last_success.age"');
    });

    it("looks back monitorUnprotectedHours (25 by default) for a tagged server without protection", () => {
      const rule = ofType(quiet, "Microsoft.Insights/scheduledQueryRules").find((r) =>
        r.name.endsWith("-unprotected"),
      );
      const query = String((rule?.properties?.criteria as { allOf: { query: string }[] }).allOf[0]?.query);
      expect(query.startsWith("let window = 25h;\n")).toBe(true);
      expect(query).toContain('SweepClass in ("TaggedUnprotected", "ProtectionFailed")');
    });

    it("creates no action group when neither e-mail nor webhook is given", () => {
      expect(ofType(quiet, "Microsoft.Insights/actionGroups")).toEqual([]);
      for (const rule of ofType(quiet, "Microsoft.Insights/scheduledQueryRules")) {
        expect(rule.properties?.actions, rule.name).toEqual({ actionGroups: [] });
      }
    });

    it("sends every alert to one action group with each e-mail address and the webhook given", () => {
      const groups = ofType(notified, "Microsoft.Insights/actionGroups");
      expect(groups).toHaveLength(1);
      const group = groups[0] as PredictedResource;
      expect(group.properties?.emailReceivers).toEqual([
        { name: "email-0", emailAddress: "oncall@example.com", useCommonAlertSchema: true },
        { name: "email-1", emailAddress: "dba@example.com", useCommonAlertSchema: true },
      ]);
      expect(group.properties?.webhookReceivers).toEqual([
        { name: "webhook", serviceUri: "https://hooks.example.com/pgflex", useCommonAlertSchema: true },
      ]);
      const rules = ofType(notified, "Microsoft.Insights/scheduledQueryRules");
      expect(rules).toHaveLength(4);
      for (const rule of rules) {
        expect(rule.properties?.actions, rule.name).toEqual({ actionGroups: [group.id] });
      }
    });
  },
);

describe("the metrics the monitor names", () => {
  it("announces only metrics the app does not emit yet; once it does, move them to EMITTED_METRICS", () => {
    expect(Object.keys(ANNOUNCED_METRICS).filter((name) => name in EMITTED_METRICS)).toEqual([]);
    expect(read("docs/monitoring.md")).toContain("`pgflex.restore_tests`");
  });
});

/** docs/monitoring.md's "What it costs" section: from its heading to the next one. */
function costSection(): string {
  const doc = read("docs/monitoring.md");
  const start = doc.indexOf("## What it costs");
  const end = doc.indexOf("\n## ", start + 1);
  return start < 0 ? "" : doc.slice(start, end < 0 ? undefined : end);
}

describe("what the telemetry costs", () => {
  it("states in docs/monitoring.md a measured ingestion and the benchmark command that measures it", () => {
    const section = costSection();
    expect(section, "docs/monitoring.md needs a '## What it costs' section").not.toBe("");
    // The figures come from the `telemetry` benchmark (bench/telemetry.ts counts the exported data points).
    expect(section).toContain("npm run bench -- --only telemetry");
    expect(section).not.toMatch(/computed, not (yet )?measured/i);
  });
});
