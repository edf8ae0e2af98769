import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./bicep.js";

interface HookRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** One line per `az` call: its arguments joined by spaces. */
  azCalls: string[];
}

/**
 * Runs an azd hook script with a fake `az` first on PATH. The fake records its arguments, fails
 * `deployment sub create` the first `failDeployments` times and answers `role assignment list` with one id.
 */
function runHook(
  script: string,
  env: Record<string, string>,
  options: { failDeployments?: number } = {},
): Promise<HookRun> {
  const dir = mkdtempSync(join(tmpdir(), "pgflex-hook-"));
  const log = join(dir, "az.log");
  const fake = join(dir, "az");
  writeFileSync(
    fake,
    [
      "#!/bin/sh",
      `echo "$*" >> "${log}"`,
      `count_file="${dir}/deployments"`,
      'case "$*" in',
      '  "deployment sub create"*)',
      '    n=$(cat "$count_file" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$count_file"',
      `    if [ "$n" -le ${options.failDeployments ?? 0} ]; then echo "ResourceNotFound: function not found" >&2; exit 1; fi ;;`,
      '  "role assignment list"*) echo "/subscriptions/x/providers/Microsoft.Authorization/roleAssignments/ra-1" ;;',
      "esac",
    ].join("\n") + "\n",
  );
  chmodSync(fake, 0o755);
  return new Promise((resolve) => {
    execFile(
      "sh",
      [join(repoRoot, script)],
      { cwd: repoRoot, env: { PATH: `${dir}:${process.env.PATH ?? ""}`, HOME: dir, ...env } },
      (error, stdout, stderr) => {
        const azCalls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
        resolve({ exitCode: error ? Number(error.code ?? 1) : 0, stdout, stderr, azCalls });
      },
    );
  });
}

const SUB = "11111111-1111-1111-1111-111111111111";
const OTHER = "22222222-2222-2222-2222-222222222222";
const topics = JSON.stringify([
  { subscriptionId: SUB, resourceGroupName: "rg-dev", name: "evgst-abc" },
  { subscriptionId: OTHER, resourceGroupName: "rg-dev-events", name: "evgst-abc" },
]);
const outputs = {
  AZURE_SUBSCRIPTION_ID: SUB,
  AZURE_LOCATION: "westeurope",
  AZURE_ENV_NAME: "dev",
  AZURE_FUNCTION_APP_ID: `/subscriptions/${SUB}/resourceGroups/rg-dev/providers/Microsoft.Web/sites/func-abc`,
  AZURE_STORAGE_ACCOUNT_ID: `/subscriptions/${SUB}/resourceGroups/rg-dev/providers/Microsoft.Storage/storageAccounts/stabc`,
  EVENT_GRID_TOPICS: topics,
  EVENT_GRID_DEADLETTER_CONTAINER: "eventgrid-deadletter",
  PGFLEX_EVENTS_RETRY_SECONDS: "0",
};
const deployment =
  `deployment sub create --subscription ${SUB} --location westeurope --name pgflex-events-dev ` +
  `--template-file ${repoRoot}/infra/events.bicep --parameters topics=${topics} ` +
  `functionAppId=${outputs.AZURE_FUNCTION_APP_ID} deadLetterStorageAccountId=${outputs.AZURE_STORAGE_ACCOUNT_ID} ` +
  `deadLetterContainerName=eventgrid-deadletter --output none`;

describe("postdeploy hook", () => {
  it("deploys events.bicep once with main.bicep's outputs", async () => {
    const run = await runHook("scripts/postdeploy.sh", outputs);
    expect(run.exitCode).toBe(0);
    expect(run.azCalls).toEqual([deployment]);
    expect(run.stdout).toContain("postdeploy: Event Grid subscriptions are in place.");
  });

  it("retries while the freshly deployed function is not yet listed", async () => {
    const run = await runHook("scripts/postdeploy.sh", outputs, { failDeployments: 2 });
    expect(run.exitCode).toBe(0);
    expect(run.azCalls).toEqual([deployment, deployment, deployment]);
  });

  it("gives up after the configured attempts with the command to run again", async () => {
    const run = await runHook(
      "scripts/postdeploy.sh",
      { ...outputs, PGFLEX_EVENTS_ATTEMPTS: "2" },
      { failDeployments: 5 },
    );
    expect(run.exitCode).toBe(1);
    expect(run.azCalls).toHaveLength(2);
    expect(run.stderr).toContain(
      "postdeploy: giving up; run 'azd hooks run postdeploy' once 'az functionapp function list' shows onResourceEvent.",
    );
  });

  it("stops before calling Azure when an output of main.bicep is missing", async () => {
    const { EVENT_GRID_TOPICS: _missing, ...rest } = outputs;
    const run = await runHook("scripts/postdeploy.sh", rest);
    expect(run.exitCode).toBe(1);
    expect(run.azCalls).toEqual([]);
    expect(run.stderr.trim()).toBe("postdeploy: EVENT_GRID_TOPICS is not set; run 'azd provision' first.");
  });
});

describe("predown hook", () => {
  it("removes subscription-scope role assignments and the events resource group of another subscription", async () => {
    const run = await runHook("scripts/predown.sh", {
      ...outputs,
      APP_PRINCIPAL_ID: "aaaaaaaa-0000-0000-0000-000000000001",
      BACKUP_VAULT_PRINCIPAL_IDS: JSON.stringify(["bbbbbbbb-0000-0000-0000-000000000002"]),
    });
    expect(run.exitCode).toBe(0);
    const listed = (sub: string, principal: string) =>
      `role assignment list --subscription ${sub} --scope /subscriptions/${sub} --query [?principalId=='${principal}' && scope=='/subscriptions/${sub}'].id --output tsv --only-show-errors`;
    const deleted = (sub: string) =>
      `role assignment delete --subscription ${sub} --ids /subscriptions/x/providers/Microsoft.Authorization/roleAssignments/ra-1 --yes --only-show-errors`;
    expect(run.azCalls).toEqual([
      listed(SUB, "aaaaaaaa-0000-0000-0000-000000000001"),
      deleted(SUB),
      listed(SUB, "bbbbbbbb-0000-0000-0000-000000000002"),
      deleted(SUB),
      listed(OTHER, "aaaaaaaa-0000-0000-0000-000000000001"),
      deleted(OTHER),
      listed(OTHER, "bbbbbbbb-0000-0000-0000-000000000002"),
      deleted(OTHER),
      `group delete --subscription ${OTHER} --name rg-dev-events --yes --no-wait --only-show-errors`,
    ]);
  });

  const APP = "aaaaaaaa-0000-0000-0000-000000000001";
  const listed = (sub: string, principal: string) =>
    `role assignment list --subscription ${sub} --scope /subscriptions/${sub} --query [?principalId=='${principal}' && scope=='/subscriptions/${sub}'].id --output tsv --only-show-errors`;
  const deleted = (sub: string) =>
    `role assignment delete --subscription ${sub} --ids /subscriptions/x/providers/Microsoft.Authorization/roleAssignments/ra-1 --yes --only-show-errors`;

  it("keeps a reused system topic and its resource group, removing only the app's event subscription from it", async () => {
    const shared = [{ subscriptionId: OTHER, resourceGroupName: "rg-shared", name: "shared-topic" }];
    const run = await runHook("scripts/predown.sh", {
      ...outputs,
      EVENT_GRID_TOPICS: JSON.stringify(shared),
      EVENT_GRID_REUSED_TOPIC_IDS: JSON.stringify([
        `/subscriptions/${OTHER}/resourceGroups/RG-Shared/providers/Microsoft.EventGrid/systemTopics/shared-topic`,
      ]),
      ROLE_SUBSCRIPTION_IDS: JSON.stringify([OTHER]),
      APP_PRINCIPAL_ID: APP,
    });
    expect(run.exitCode).toBe(0);
    expect(run.azCalls).toEqual([
      listed(OTHER, APP),
      deleted(OTHER),
      `eventgrid system-topic event-subscription delete --subscription ${OTHER} --resource-group rg-shared --system-topic-name shared-topic --name pgflex-autoprotect-onResourceEvent --yes --only-show-errors`,
    ]);
    expect(run.azCalls.filter((call) => call.startsWith("group delete"))).toEqual([]);
  });

  it("removes the app's Reader from the vaults' subscription when it was not in scope", async () => {
    const run = await runHook("scripts/predown.sh", {
      ...outputs,
      EVENT_GRID_TOPICS: JSON.stringify([
        { subscriptionId: OTHER, resourceGroupName: "rg-dev-events", name: "evgst-abc" },
      ]),
      ROLE_SUBSCRIPTION_IDS: JSON.stringify([OTHER, SUB]),
      APP_PRINCIPAL_ID: APP,
    });
    expect(run.exitCode).toBe(0);
    expect(run.azCalls).toEqual([
      listed(OTHER, APP),
      deleted(OTHER),
      listed(SUB, APP),
      deleted(SUB),
      `group delete --subscription ${OTHER} --name rg-dev-events --yes --no-wait --only-show-errors`,
    ]);
  });

  it("does nothing in an environment that was never provisioned", async () => {
    const run = await runHook("scripts/predown.sh", { AZURE_ENV_NAME: "dev" });
    expect(run.exitCode).toBe(0);
    expect(run.azCalls).toEqual([]);
  });
});

describe("azure.yaml hooks", () => {
  /** Each hook's `run:` per platform, e.g. { predown: { posix: "./scripts/predown.sh", windows: ... } }. */
  function hooks(): Record<string, Record<string, string>> {
    const yaml = readFileSync(join(repoRoot, "azure.yaml"), "utf8");
    const section = yaml.slice(yaml.indexOf("\nhooks:\n"));
    const out: Record<string, Record<string, string>> = {};
    let hook = "";
    let platform = "";
    for (const line of section.split("\n")) {
      const h = /^ {2}(\w+):$/.exec(line)?.[1];
      const p = /^ {4}(posix|windows):$/.exec(line)?.[1];
      const run = /^ {6}run: (\S+)$/.exec(line)?.[1];
      if (h) hook = h;
      if (p) platform = p;
      if (run) (out[hook] ??= {})[platform] = run;
    }
    return out;
  }

  /** Environment variables a hook script reads: `$NAME`/`${NAME}` in sh, `$env:NAME` in PowerShell. */
  function variablesRead(script: string): string[] {
    const source = readFileSync(join(repoRoot, script), "utf8");
    const pattern = script.endsWith(".ps1") ? /\$env:([A-Z][A-Z0-9_]+)/g : /\$\{?([A-Z][A-Z0-9_]+)/g;
    return [...new Set([...source.matchAll(pattern)].map((m) => m[1] ?? ""))].sort();
  }

  it("runs every hook on Windows as well as on Linux and macOS, with a script that exists", () => {
    const all = hooks();
    expect(Object.keys(all).sort()).toEqual(["postdeploy", "postprovision", "predown", "preprovision"]);
    for (const [name, platforms] of Object.entries(all)) {
      expect({ name, platforms: Object.keys(platforms).sort() }).toEqual({
        name,
        platforms: ["posix", "windows"],
      });
      for (const run of Object.values(platforms)) expect(existsSync(join(repoRoot, run))).toBe(true);
    }
  });

  it("has the Windows predown hook read the same azd outputs as the sh one", () => {
    const { posix, windows } = hooks().predown ?? {};
    expect(windows).toBe("./scripts/predown.ps1");
    expect(variablesRead(windows ?? "")).toEqual(variablesRead(posix ?? ""));
  });
});
