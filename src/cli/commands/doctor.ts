import type { Command } from "commander";
import { BackupRoles, scopeCovers, type RoleAssignmentInfo } from "../../lib/azure/roles.js";
import type { SweepRow } from "../../lib/store/sweeps.js";
import { requiredRoles } from "../../lib/protection/decide.js";
import { grantCommand } from "../../lib/protection/guidance.js";
import { createVaultResolver } from "../../lib/protection/vaults.js";
import type { VaultInfo } from "../../lib/protection/ports.js";
import type { CliContext } from "../context.js";
import { ExitCodes } from "../exitCodes.js";
import { progress } from "../format.js";
import type { CliServices } from "../services.js";
import type { OperationOptions } from "../../lib/util/options.js";

export interface Finding {
  check: "settings" | "inventory" | "vaults" | "identity" | "roles" | "policies" | "eventGrid";
  status: "ok" | "problem" | "warning" | "info";
  message: string;
  fix?: string;
}

const parent = (id: string): string => id.replace(/\/providers\/[^/]+\/[^/]+\/[^/]+$/i, "");
const rgOf = (id: string): string => /\/resourcegroups\/([^/]+)/i.exec(id)?.[1] ?? "";
const nameOf = (id: string): string => id.split("/").pop() ?? id;

/**
 * Checks a deployment's prerequisites from where the CLI runs (its identity, its settings): settings, that
 * every subscription in scope can be read, a vault for every region with tagged servers, each vault's
 * identity and its two roles per tagged server, the mapped policies, and says how to check Event Grid.
 */
export async function runDoctor(
  services: Pick<CliServices, "config" | "sweep" | "dataProtection" | "roles">,
  options: OperationOptions = {},
): Promise<Finding[]> {
  const { config } = services;
  const findings: Finding[] = [];
  const call = options.abortSignal ? { abortSignal: options.abortSignal } : {};

  if (!config.authTenantId || !config.authAudience)
    findings.push({
      check: "settings",
      status: "problem",
      message:
        "PGFLEX_AUTH_TENANT_ID or PGFLEX_AUTH_AUDIENCE is not set: the API and the dashboard refuse every call.",
      fix: "Set both on the Function App (azd sets them from PGFLEX_AUTH_AUDIENCE and the deployment's tenant).",
    });
  if (config.scopes.length === 0)
    findings.push({
      check: "settings",
      status: "warning",
      message: "PGFLEX_SCOPES is empty: every subscription the identity can read is in scope.",
    });
  if (config.mode === "report")
    findings.push({
      check: "settings",
      status: "info",
      message: "PGFLEX_MODE=report: the app records what it would do and changes nothing.",
    });
  if (!findings.some((f) => f.check === "settings"))
    findings.push({
      check: "settings",
      status: "ok",
      message: `Settings are valid (mode ${config.mode}, ${config.scopes.length} subscriptions in scope).`,
    });

  const report = await services.sweep({ dryRun: true, ...call });
  for (const failure of report.summary.failures)
    findings.push({
      check: "inventory",
      status: "problem",
      message: `Cannot read ${failure.target}: ${failure.message}`,
      fix: "Give the identity Reader on every subscription in PGFLEX_SCOPES (infra does this for the app's identity).",
    });
  if (report.summary.failures.length === 0)
    findings.push({
      check: "inventory",
      status: "ok",
      message: `Read ${report.summary.total} servers in ${report.summary.subscriptionIds.length} subscriptions.`,
    });

  const wanted = report.rows.filter(
    (r) => r.tagValue !== undefined && !isOptOut(r, config.optOutValues) && r.class !== "Deleted",
  );
  const resolver = createVaultResolver(services.dataProtection, {
    vaultMap: { ...config.vaultMap },
    markerTag: config.vaultMarkerTag,
    scopes: config.scopes,
    cacheTtlInMs: 60_000,
  });
  const vaults = new Map<string, VaultInfo>();
  const regionsWithout = new Set<string>();
  const serverVault = new Map<SweepRow, VaultInfo>();
  for (const row of wanted) {
    if (!row.location || row.class === "ProtectedElsewhere") continue;
    const vault = await resolver.resolve(row.location, row.subscriptionId, call);
    if (!vault) regionsWithout.add(row.location.toLowerCase());
    else {
      vaults.set(vault.id.toLowerCase(), vault);
      serverVault.set(row, vault);
    }
  }
  for (const region of [...regionsWithout].sort())
    findings.push({
      check: "vaults",
      status: "problem",
      message: `No Backup vault serves region ${region}, where tagged servers are.`,
      fix:
        `Add ${region} to PGFLEX_BACKUP_REGIONS and run azd provision, or add ${region}=<vault id> to PGFLEX_VAULT_MAP` +
        (config.vaultMarkerTag ? `, or tag a vault in ${region} with ${config.vaultMarkerTag}.` : "."),
    });
  if (regionsWithout.size === 0)
    findings.push({
      check: "vaults",
      status: "ok",
      message: `Every region with tagged servers has a vault (${vaults.size} in use).`,
    });

  for (const vault of vaults.values()) {
    if (!vault.principalId)
      findings.push({
        check: "identity",
        status: "problem",
        message: `Backup vault ${vault.name} has no system-assigned identity, so Azure Backup cannot reach servers.`,
        fix: `az dataprotection backup-vault update --resource-group ${rgOf(vault.id)} --vault-name ${vault.name} --type SystemAssigned`,
      });
    else
      findings.push({
        check: "identity",
        status: "ok",
        message: `Backup vault ${vault.name} has identity ${vault.principalId}.`,
      });
  }

  let missingRoles = 0;
  for (const [row, vault] of serverVault) {
    if (!vault.principalId || row.class === "Protected") continue;
    const assignments: RoleAssignmentInfo[] = [];
    for await (const assignment of services.roles.listForPrincipal(
      parent(row.serverId),
      vault.principalId,
      call,
    ))
      assignments.push(assignment);
    const missing = requiredRoles(row.serverId).filter(
      (need) =>
        !assignments.some(
          (held) =>
            held.roleDefinitionGuid === need.roleDefinitionGuid && scopeCovers(held.scope, need.scope),
        ),
    );
    if (missing.length === 0) continue;
    missingRoles++;
    findings.push({
      check: "roles",
      status: config.autoGrantRoles ? "info" : "problem",
      message: `Vault ${vault.name}'s identity lacks ${missing.map((role) => role.roleName).join(" and ")} for ${nameOf(row.serverId)}${config.autoGrantRoles ? " (PGFLEX_AUTO_GRANT_ROLES=true: the app grants them)" : ""}.`,
      ...(config.autoGrantRoles
        ? {}
        : { fix: missing.map((role) => grantCommand(vault.principalId ?? "", role)).join("\n") }),
    });
  }
  if (missingRoles === 0)
    findings.push({
      check: "roles",
      status: "ok",
      message: `Vault identities hold ${BackupRoles.reader.name} and ${BackupRoles.longTermRetention.name} for every tagged server.`,
    });

  const policyNames = [...new Set(Object.values(config.policyMap))].sort();
  let missingPolicies = 0;
  for (const vault of vaults.values()) {
    for (const policy of policyNames) {
      if (await services.dataProtection.getPolicy(vault.id, policy, call)) continue;
      missingPolicies++;
      findings.push({
        check: "policies",
        status: config.createMissingPolicies ? "info" : "problem",
        message: `Policy ${policy} does not exist in vault ${vault.name}${config.createMissingPolicies ? "; the app creates it on first use (PGFLEX_CREATE_MISSING_POLICIES=true)" : ""}.`,
        ...(config.createMissingPolicies
          ? {}
          : {
              fix: `Create ${policy} in ${vault.name} (a PostgreSQL Flexible Server policy), or set PGFLEX_CREATE_MISSING_POLICIES=true.`,
            }),
      });
    }
  }
  if (missingPolicies === 0 && vaults.size > 0)
    findings.push({
      check: "policies",
      status: "ok",
      message: `Policies ${policyNames.join(", ")} exist in every vault in use.`,
    });

  findings.push({
    check: "eventGrid",
    status: "info",
    message:
      "Event Grid subscriptions are not read by the CLI (they need Microsoft.EventGrid read access it does not assume).",
    fix: 'az eventgrid system-topic event-subscription list --resource-group <group> --system-topic-name <topic> --query "[].destination.resourceId" (expect .../functions/onResourceEvent)',
  });
  return findings;
}

function isOptOut(row: SweepRow, optOut: readonly string[]): boolean {
  return (
    row.class === "OptedOut" ||
    row.class === "Untagged" ||
    optOut.includes((row.tagValue ?? "").toLowerCase())
  );
}

const STATUS_MARKS = { ok: "✔", problem: "✖", warning: "!", info: "i" } as const;

export function addDoctorCommand(program: Command, cli: CliContext): void {
  program
    .command("doctor")
    .description("Check a deployment's prerequisites and print each problem with its fix.")
    .action(async () => {
      const services = cli.services();
      const spin = progress(cli.io.stderr, "Checking");
      const findings = await runDoctor(services).finally(() => spin.done());
      const problems = findings.filter((finding) => finding.status === "problem");
      cli.setExitCode(problems.length ? ExitCodes.attention : ExitCodes.ok);
      if (cli.json()) return cli.write(`${JSON.stringify(findings, null, 2)}\n`);
      for (const finding of findings) {
        cli.write(`${STATUS_MARKS[finding.status]} ${finding.check}: ${finding.message}\n`);
        if (finding.fix) cli.write(`    ${finding.fix.replace(/\n/g, "\n    ")}\n`);
      }
      cli.write(problems.length ? `${problems.length} problems.\n` : "No problems.\n");
    });
}
