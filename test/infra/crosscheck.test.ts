import { accessSync, constants, existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { allSettings, settings } from "../../src/lib/config/settings.js";
import { BackupRoles } from "../../src/lib/azure/roles.js";
import { STORAGE_BLOB_DATA_CONTRIBUTOR } from "../../src/lib/restore/guidance.js";
import { ResourceEventTypes } from "../../src/lib/events/resourceEvents.js";
import { QueueNames } from "../../src/lib/store/queues.js";
import {
  type ArmResource,
  type CompiledInfra,
  compileInfra,
  locateBicep,
  moduleDeployment,
  moduleParameter,
  repoRoot,
  resourcesOf,
  skipReason,
} from "./bicep.js";

const bicep = locateBicep();
const reason = skipReason(bicep);

/** Settings the Functions platform reads, not the app: they are not in the app's schema. */
const PLATFORM_SETTINGS = [
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__blobServiceUri",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
  // Easy Auth's credential for the app registration (infra/app/auth.bicep).
  "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID",
];

function read(path: string): string {
  return readFileSync(join(repoRoot, path), "utf8");
}

/** Table names the store writes: its `export const X_TABLE = "name"` constants. */
function storeTableNames(): string[] {
  const dir = join(repoRoot, "src/lib/store");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) =>
      [...readFileSync(join(dir, f), "utf8").matchAll(/export const \w+_TABLE = "([^"]+)"/g)].map(
        (m) => m[1] ?? "",
      ),
    )
    .sort();
}

/** ARM operations the Event Grid trigger handles, as written in src/lib/events/resourceEvents.ts. */
function handledOperations(): string[] {
  const source = read("src/lib/events/resourceEvents.ts");
  return [...source.matchAll(/"(microsoft\.[a-z]+\/[a-z/]+\/(?:write|delete|start\/action))"/gi)]
    .map((m) => (m[1] ?? "").toLowerCase())
    .sort();
}

function byType(resources: ArmResource[], type: string): ArmResource[] {
  return resources.filter((r) => r.type === type);
}

function only(resources: ArmResource[], type: string): ArmResource {
  const found = byType(resources, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as ArmResource;
}

describe.skipIf(reason !== undefined)(
  `infra cross-check with the app${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    let infra: CompiledInfra;

    beforeAll(async () => {
      infra = await compileInfra(bicep.found ? bicep.path : "");
      if (infra.build.exitCode !== 0) throw new Error(`bicep build failed:\n${infra.build.output}`);
    });

    describe("app settings", () => {
      function appSettings(): Record<string, unknown> {
        const main = infra.template("main");
        return moduleParameter(main, moduleDeployment(main, "function-app"), "appSettings") as Record<
          string,
          unknown
        >;
      }

      it("sets every setting the configuration schema requires in Azure", () => {
        const required = allSettings.filter((s) => s.requiredInAzure).map((s) => s.name);
        const missing = required.filter((name) => !(name in appSettings()));
        expect(missing).toEqual([]);
        expect(required.length).toBeGreaterThan(0);
      });

      it("sets no app setting the configuration schema does not know", () => {
        const known = new Set([...allSettings.map((s) => s.name), ...PLATFORM_SETTINGS]);
        expect(Object.keys(appSettings()).filter((name) => !known.has(name))).toEqual([]);
      });

      it("uses identity-based storage and never a connection string", () => {
        const settings = appSettings();
        expect(settings).not.toHaveProperty("AzureWebJobsStorage");
        expect(settings.AzureWebJobsStorage__credential).toBe("managedidentity");
        expect(settings.PGFLEX_ARM_CREDENTIAL).toBe("managedIdentity");
        const storage = only(resourcesOf(infra.template("app/storage")), "Microsoft.Storage/storageAccounts");
        expect(storage.properties?.allowSharedKeyAccess).toBe(false);
      });
    });

    describe("storage", () => {
      it("creates every queue the app sends to, with its poison queue", () => {
        const main = infra.template("main");
        expect(
          [...(moduleParameter(main, moduleDeployment(main, "storage"), "queueNames") as string[])].sort(),
        ).toEqual(Object.values(QueueNames).sort());
        const queues = only(
          resourcesOf(infra.template("app/storage")),
          "Microsoft.Storage/storageAccounts/queueServices/queues",
        );
        expect(JSON.stringify(queues.copy)).toContain("-poison");
      });

      it("creates every table the store writes", () => {
        const main = infra.template("main");
        expect(
          [...(moduleParameter(main, moduleDeployment(main, "storage"), "tableNames") as string[])].sort(),
        ).toEqual(storeTableNames());
      });
    });

    describe("Function App", () => {
      it("runs on Flex Consumption with Node 22 and a user-assigned identity", () => {
        const resources = resourcesOf(infra.template("app/function-app"));
        const plan = only(resources, "Microsoft.Web/serverfarms");
        expect(plan.sku).toEqual({ name: "FC1", tier: "FlexConsumption" });
        const site = only(resources, "Microsoft.Web/sites");
        expect(site.kind).toBe("functionapp,linux");
        expect((site.identity as { type: string }).type).toBe("UserAssigned");
        const config = site.properties?.functionAppConfig as {
          runtime: unknown;
          deployment: { storage: { authentication: { type: string } } };
        };
        expect(config.runtime).toEqual({ name: "node", version: "22" });
        expect(config.deployment.storage.authentication.type).toBe("UserAssignedIdentity");
      });

      it("tags the app with the azd service name of azure.yaml", () => {
        const service = /^services:\n {2}(\w+):\n(?: {4}.*\n)*? {4}host: function$/m.exec(read("azure.yaml"));
        expect(service?.[1]).toBe("api");
        const main = infra.template("main");
        const appTags = moduleParameter(main, moduleDeployment(main, "function-app"), "appTags");
        expect(JSON.stringify(appTags)).toContain(`'azd-service-name', '${service?.[1]}'`);
      });
    });

    describe("Backup vaults", () => {
      it("gives each vault a system-assigned identity, soft delete and a weekly PostgreSQL Flexible policy", () => {
        const resources = resourcesOf(infra.template("app/backup-vault"));
        const vault = only(resources, "Microsoft.DataProtection/backupVaults");
        expect(vault.identity).toEqual({ type: "SystemAssigned" });
        expect(
          (vault.properties?.securitySettings as { softDeleteSettings: { state: string } }).softDeleteSettings
            .state,
        ).toBe("On");
        const policy = only(resources, "Microsoft.DataProtection/backupVaults/backupPolicies");
        expect(policy.properties?.datasourceTypes).toEqual(["Microsoft.DBforPostgreSQL/flexibleServers"]);
        const rules = policy.properties?.policyRules as Array<{
          trigger?: { schedule: { repeatingTimeIntervals: string[] } };
        }>;
        expect(rules[0]?.trigger?.schedule.repeatingTimeIntervals).toEqual([
          "[format('R/{0}/P1W', parameters('scheduleStart'))]",
        ]);
      });
    });

    describe("role assignments", () => {
      function scopeRoles(): Record<string, string> {
        return infra.template("app/scope").variables?.roles as Record<string, string>;
      }

      it("gives the vault identities exactly the roles the app checks", () => {
        const roles = scopeRoles();
        const vaultRoles = (infra.template("app/scope").variables?.vaultRoles as string[]).map(
          (expression) => {
            const key = /^\[variables\('roles'\)\.(\w+)\]$/.exec(expression)?.[1] ?? expression;
            return roles[key];
          },
        );
        expect(vaultRoles.sort()).toEqual(
          Object.values(BackupRoles)
            .map((r) => r.id)
            .sort(),
        );
      });

      it("grants the vault roles directly unless auto-grant is on", () => {
        const resources = byType(
          resourcesOf(infra.template("app/scope")),
          "Microsoft.Authorization/roleAssignments",
        );
        const direct = resources.find((r) => JSON.stringify(r.name).includes("vaultRoles"));
        expect(direct?.condition).toBe("[not(parameters('autoGrantRoles'))]");
        expect(JSON.stringify(direct?.properties)).toContain("vaultRoles");
      });

      it("lets the app assign only the vault roles, under an ABAC condition, when auto-grant is on", () => {
        const resources = byType(
          resourcesOf(infra.template("app/scope")),
          "Microsoft.Authorization/roleAssignments",
        );
        const grant = resources.find((r) => r.name.includes("variables('roles').rbacAdministrator"));
        expect(grant?.condition).toBe("[parameters('autoGrantRoles')]");
        expect(grant?.properties?.conditionVersion).toBe("2.0");
        expect(grant?.properties?.condition).toBe("[variables('grantCondition')]");
        const condition = infra.template("app/scope").variables?.grantCondition as string;
        expect(condition).toContain(
          "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{0}}}",
        );
        expect(condition).toContain("join(variables('vaultRoles'), ', ')");
        expect(condition).toContain("ActionMatches{{''Microsoft.Authorization/roleAssignments/delete''}}");
      });
    });

    describe("restore target", () => {
      function restoreRoles(): Record<string, string> {
        return infra.template("app/restore").variables?.roles as Record<string, string>;
      }

      function restoreAssignments(): ArmResource[] {
        return byType(resourcesOf(infra.template("app/restore")), "Microsoft.Authorization/roleAssignments");
      }

      it("points PGFLEX_RESTORE_TARGETS at the restore container when there is one", () => {
        const main = infra.template("main");
        const appSettings = moduleParameter(
          main,
          moduleDeployment(main, "function-app"),
          "appSettings",
        ) as Record<string, unknown>;
        expect(appSettings[settings.restoreTargets.name]).toBe(
          "[if(or(parameters('restoreStorage'), variables('restoreExisting')), variables('restoreTarget'), '')]",
        );
        expect(moduleDeployment(main, /^\[format\('restore-\{0\}'/).condition).toBe(
          "[or(parameters('restoreStorage'), variables('restoreExisting'))]",
        );
        expect(main.parameters?.restoreStorage).toMatchObject({ type: "bool", defaultValue: true });
        expect(main.parameters?.restoreRetentionDays).toMatchObject({
          type: "int",
          defaultValue: 7,
          minValue: 1,
        });
      });

      it("gives each vault identity on the container the role restores check, and the app Storage Blob Data Reader", () => {
        const roles = restoreRoles();
        expect(roles.storageBlobDataContributor).toBe(STORAGE_BLOB_DATA_CONTRIBUTOR.id);
        expect(roles.storageBlobDataReader).toBe("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1");
        const writers = restoreAssignments().find((r) => JSON.stringify(r.copy ?? "").includes("vaultNames"));
        expect(writers?.scope).toMatch(/containers/);
        expect(JSON.stringify(writers?.properties)).toContain(
          "variables('roles').storageBlobDataContributor",
        );
        const reader = restoreAssignments().find((r) =>
          JSON.stringify(r.properties).includes("variables('roles').storageBlobDataReader"),
        );
        expect(reader?.scope).toMatch(/containers/);
      });

      it("lets the app grant that role only as src/lib/restore asks for it: at the container, to a vault's service principal", () => {
        // The app's request: roles.ts createAssignment(scope, role, principalId) with principalType ServicePrincipal,
        // called by the restore service at the container's id.
        expect(read("src/lib/azure/roles.ts")).toMatch(/principalType: "ServicePrincipal"/);
        expect(read("src/lib/restore/service.ts")).toMatch(
          /createAssignment\(containerId, STORAGE_BLOB_DATA_CONTRIBUTOR\.id, principalId/,
        );
        const grant = restoreAssignments().find((r) =>
          r.name.includes("variables('roles').rbacAdministrator"),
        );
        expect(grant?.condition).toBe("[parameters('autoGrantRoles')]");
        expect(grant?.scope).toMatch(/containers/);
        expect(grant?.properties?.condition).toBe("[variables('grantCondition')]");
        const condition = infra.template("app/restore").variables?.grantCondition as string;
        expect(condition).toContain(
          "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{0}}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {{{1}}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {{''ServicePrincipal''}}",
        );
        expect(condition).toContain(
          "variables('roles').storageBlobDataContributor, join(parameters('vaultPrincipalIds'), ', ')",
        );
        // The subscription-wide condition (ABAC cannot test a scope) never lets the app hand out the storage role.
        expect(JSON.stringify(infra.template("app/scope").variables)).not.toContain(
          STORAGE_BLOB_DATA_CONTRIBUTOR.id,
        );
      });
    });

    describe("alert topic", () => {
      it("creates a CloudEvents custom topic that accepts only identity-authenticated publishers", () => {
        const topic = only(resourcesOf(infra.template("app/alert-topic")), "Microsoft.EventGrid/topics");
        expect(topic.properties).toMatchObject({
          inputSchema: "CloudEventSchemaV1_0",
          disableLocalAuth: true,
          minimumTlsVersionAllowed: "1.2",
        });
      });

      it("grants the app identity EventGrid Data Sender on the topic and nothing else", () => {
        const assignments = byType(
          resourcesOf(infra.template("app/alert-topic")),
          "Microsoft.Authorization/roleAssignments",
        );
        expect(assignments).toHaveLength(1);
        expect(infra.template("app/alert-topic").variables?.eventGridDataSender).toBe(
          "d5a91429-5739-47e2-a06b-3470a27159e7",
        );
        expect(JSON.stringify(assignments[0]?.properties)).toContain("variables('eventGridDataSender')");
        const main = infra.template("main");
        expect(moduleParameter(main, moduleDeployment(main, "alert-topic"), "senderIdentityName")).toBe(
          moduleParameter(main, moduleDeployment(main, "identity"), "name"),
        );
      });

      it("is optional and, when created, is where the app sends its alerts", () => {
        const main = infra.template("main");
        expect(main.parameters?.alertTopic).toMatchObject({ type: "bool", defaultValue: true });
        expect(moduleDeployment(main, "alert-topic").condition).toBe("[parameters('alertTopic')]");
        const settings = moduleParameter(
          main,
          moduleDeployment(main, "function-app"),
          "appSettings",
        ) as Record<string, unknown>;
        expect(settings.PGFLEX_ALERT_EVENTGRID_ENDPOINT).toBe(
          "[if(parameters('alertTopic'), reference('alertTopicModule').outputs.endpoint.value, '')]",
        );
      });
    });

    describe("Event Grid", () => {
      function eventSubscription(): ArmResource {
        return only(
          resourcesOf(infra.template("app/event-subscription")),
          "Microsoft.EventGrid/systemTopics/eventSubscriptions",
        );
      }

      it("filters on every operation the trigger handles, and only those", () => {
        const template = infra.template("app/event-subscription");
        const operations = (template.parameters?.operationNames?.defaultValue as string[])
          .map((o) => o.toLowerCase())
          .sort();
        expect(operations).toEqual(handledOperations());
        expect(operations).toEqual([
          "microsoft.dbforpostgresql/flexibleservers/delete",
          "microsoft.dbforpostgresql/flexibleservers/start/action",
          "microsoft.dbforpostgresql/flexibleservers/write",
          "microsoft.resources/tags/write",
        ]);
        const filter = eventSubscription().properties?.filter as {
          advancedFilters: unknown[];
          includedEventTypes: string[];
        };
        expect(filter.advancedFilters).toEqual([
          { operatorType: "StringIn", key: "data.operationName", values: "[parameters('operationNames')]" },
          {
            operatorType: "StringContains",
            key: "subject",
            values: ["/providers/Microsoft.DBforPostgreSQL/flexibleServers/"],
          },
        ]);
        expect([...filter.includedEventTypes].sort()).toEqual(Object.values(ResourceEventTypes).sort());
      });

      it("delivers to the onResourceEvent function with retries and dead-lettering", () => {
        const properties = eventSubscription().properties as Record<string, { [key: string]: unknown }>;
        expect(properties.destination?.endpointType).toBe("AzureFunction");
        expect(properties.retryPolicy).toEqual({
          maxDeliveryAttempts: "[parameters('maxDeliveryAttempts')]",
          eventTimeToLiveInMinutes: "[parameters('eventTimeToLiveInMinutes')]",
        });
        expect(JSON.stringify(properties.deadLetterWithResourceIdentity)).toContain(
          '"endpointType":"StorageBlob"',
        );
        expect(infra.template("events").parameters?.functionName?.defaultValue).toBe("onResourceEvent");
      });

      it.skipIf(!existsSync(join(repoRoot, "src/functions/onResourceEvent.ts")))(
        "names a function the app declares with declareEventGrid",
        () => {
          expect(read("src/functions/onResourceEvent.ts")).toMatch(/declareEventGrid\(\s*"onResourceEvent"/);
        },
      );

      it("creates one system topic per subscription in scope, for its resource events", () => {
        const topic = only(
          resourcesOf(infra.template("app/event-topic")),
          "Microsoft.EventGrid/systemTopics",
        );
        expect(topic.properties?.topicType).toBe("Microsoft.Resources.Subscriptions");
        // System-assigned for a new topic; a reused one keeps its user-assigned identities too.
        expect(topic.identity).toBe("[variables('identity')]");
        expect(infra.template("app/event-topic").variables?.identity).toContain(
          "createObject('type', 'SystemAssigned'))",
        );
      });
    });

    describe("azd wiring", () => {
      it("outputs the app, API and dashboard URLs in UPPER_SNAKE names", () => {
        const outputs = Object.keys(infra.template("main").outputs ?? {});
        expect(outputs).toEqual(expect.arrayContaining(["APP_URL", "API_URL", "DASHBOARD_URL"]));
        expect(outputs.filter((name) => !/^[A-Z][A-Z0-9_]*$/.test(name))).toEqual([]);
      });

      it("passes every main.bicep parameter azd must supply, and no unknown ones", () => {
        const declared = infra.template("main").parameters ?? {};
        const supplied = Object.keys(
          (JSON.parse(read("infra/main.parameters.json")) as { parameters: object }).parameters,
        );
        expect(supplied.filter((name) => !(name in declared))).toEqual([]);
        const required = Object.entries(declared)
          .filter(([, p]) => !("defaultValue" in p))
          .map(([name]) => name);
        expect(required.filter((name) => !supplied.includes(name))).toEqual([]);
      });

      it("defines every azd variable the hook scripts read as a main.bicep output", () => {
        const notOutputs = [
          "AZURE_SUBSCRIPTION_ID",
          "AZURE_ENV_NAME",
          "PGFLEX_EVENTS_ATTEMPTS",
          "PGFLEX_EVENTS_RETRY_SECONDS",
        ];
        const outputs = Object.keys(infra.template("main").outputs ?? {});
        for (const script of [
          "scripts/predown.sh",
          "scripts/postdeploy.sh",
          "scripts/predown.ps1",
          "scripts/postdeploy.ps1",
        ]) {
          const pattern = script.endsWith(".ps1") ? /\$env:([A-Z][A-Z0-9_]+)/g : /\$\{?([A-Z][A-Z0-9_]+)/g;
          const used = [...read(script).matchAll(pattern)].map((m) => m[1] ?? "");
          expect(
            [...new Set(used)].filter((name) => !notOutputs.includes(name) && !outputs.includes(name)),
          ).toEqual([]);
          expect(used.length).toBeGreaterThan(0);
        }
      });

      it("hands the postdeploy hook every main.bicep output it reads and every events.bicep parameter it needs", () => {
        const script = read("scripts/postdeploy.sh");
        accessSync(join(repoRoot, "scripts/postdeploy.sh"), constants.X_OK);
        const read_ =
          /for name in ([^;]+); do/
            .exec(script.replace(/\\\n\s*/g, " "))?.[1]
            ?.trim()
            .split(/\s+/) ?? [];
        const azdBuiltIns = ["AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME"];
        const outputs = Object.keys(infra.template("main").outputs ?? {});
        expect(read_.filter((name) => !azdBuiltIns.includes(name) && !outputs.includes(name))).toEqual([]);
        const events = infra.template("events").parameters ?? {};
        const needed = Object.entries(events)
          .filter(([, p]) => !("defaultValue" in p))
          .map(([name]) => name)
          .sort();
        const passed = [...script.matchAll(/(\w+)="\$\w+"/g)]
          .map((m) => m[1] ?? "")
          .filter((name) => name in events)
          .sort();
        expect(passed).toEqual(needed);
        expect(read("azure.yaml")).toContain("run: ./scripts/postdeploy.sh");
      });
    });
  },
);
