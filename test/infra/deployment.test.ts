import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStorageTargetId } from "../../src/lib/azure/storage.js";
import { settings as appSettingSchema } from "../../src/lib/config/settings.js";
import { STORAGE_BLOB_DATA_CONTRIBUTOR } from "../../src/lib/restore/guidance.js";
import {
  type PredictedResource,
  type Snapshot,
  infraDir,
  locateBicep,
  skipReason,
  snapshotMain,
} from "./bicep.js";

const bicep = locateBicep();
const reason = skipReason(bicep);

const APP_SUB = "11111111-1111-1111-1111-111111111111";
const OTHER_SUB = "22222222-2222-2222-2222-222222222222";
const READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const SHARED_TOPIC = `/subscriptions/${OTHER_SUB}/resourceGroups/rg-shared/providers/Microsoft.EventGrid/systemTopics/shared-topic`;
const STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
const RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168";
const EXISTING_CONTAINER = `/subscriptions/${OTHER_SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stshared/blobServices/default/containers/pg-restores`;
const base = { environmentName: "dev", location: "westeurope" };

function snapshot(params: Record<string, string | boolean | number>): Promise<Snapshot> {
  return snapshotMain(bicep.found ? bicep.path : "", { ...base, ...params }, APP_SUB);
}

function deployed(result: Snapshot): { resources: PredictedResource[]; outputs: Record<string, unknown> } {
  if (!result.ok) throw new Error(`bicep snapshot failed:\n${result.output}`);
  return result;
}

function ofType(resources: PredictedResource[], type: string): PredictedResource[] {
  return resources.filter((r) => r.type === type);
}

/** Subscription-scope Reader assignments of the app's identity. */
function appReaders(resources: PredictedResource[], subscriptionId: string): PredictedResource[] {
  return ofType(resources, "Microsoft.Authorization/roleAssignments").filter(
    (r) =>
      r.id.startsWith(
        `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleAssignments/`,
      ) &&
      String(r.properties?.roleDefinitionId).endsWith(`/roleDefinitions/${READER}`) &&
      String(r.properties?.principalId).includes("Microsoft.ManagedIdentity/userAssignedIdentities/"),
  );
}

/** The Function App's settings as deployed. */
function siteSettings(resources: PredictedResource[]): Record<string, unknown> {
  return ofType(resources, "Microsoft.Web/sites/config")[0]?.properties ?? {};
}

/** Role assignments made at exactly `scope`, as `role GUID -> principal id expressions`. */
function assignmentsAt(resources: PredictedResource[], scope: string): PredictedResource[] {
  return ofType(resources, "Microsoft.Authorization/roleAssignments").filter((r) =>
    new RegExp(`^${scope}/providers/Microsoft\\.Authorization/roleAssignments/[^/]+$`, "i").test(r.id),
  );
}

function roleOf(assignment: PredictedResource): string {
  return String(assignment.properties?.roleDefinitionId).split("/").pop() ?? "";
}

function bicepSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? bicepSources(join(dir, entry.name))
      : entry.name.endsWith(".bicep")
        ? [readFileSync(join(dir, entry.name), "utf8")]
        : [],
  );
}

describe.skipIf(reason !== undefined)(
  `deployment edges, as bicep snapshot predicts them${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    // bicep snapshot is a .NET process per parameter set: slow on a loaded machine, so generous timeouts.
    let reused: Snapshot;
    let outOfScopeVaults: Snapshot;

    beforeAll(async () => {
      [reused, outOfScopeVaults] = await Promise.all([
        snapshot({ scopes: `${APP_SUB},${OTHER_SUB}`, existingSystemTopics: ` ${SHARED_TOPIC} ` }),
        snapshot({ scopes: OTHER_SUB }),
      ]);
    }, 240_000);

    describe("an existing Microsoft.Resources.Subscriptions system topic", () => {
      it("is reused instead of creating a second topic in its subscription, which Azure refuses", () => {
        const { resources, outputs } = deployed(reused);
        const topics = ofType(resources, "Microsoft.EventGrid/systemTopics");
        expect(topics.map((t) => t.id).sort()).toEqual(
          [
            `/subscriptions/${APP_SUB}/resourceGroups/rg-dev/providers/Microsoft.EventGrid/systemTopics/${topics.find((t) => t.id.startsWith(`/subscriptions/${APP_SUB}/`))?.name}`,
            SHARED_TOPIC,
          ].sort(),
        );
        expect(outputs.EVENT_GRID_TOPICS).toContainEqual({
          subscriptionId: OTHER_SUB,
          resourceGroupName: "rg-shared",
          name: "shared-topic",
        });
        expect(outputs.EVENT_GRID_REUSED_TOPIC_IDS).toEqual([SHARED_TOPIC]);
      });

      it("keeps the topic's location and tags and adds the identity dead letters are written with", () => {
        const { resources } = deployed(reused);
        const topic = ofType(resources, "Microsoft.EventGrid/systemTopics").find(
          (t) => t.id === SHARED_TOPIC,
        );
        expect(topic?.location).toContain(`reference('${SHARED_TOPIC}', '2025-02-15', 'full').location`);
        expect(topic?.tags).toContain(`reference('${SHARED_TOPIC}', '2025-02-15', 'full').tags`);
        expect(topic?.identity).toContain("'SystemAssigned, UserAssigned'");
        expect(topic?.properties).toEqual({
          source: `/subscriptions/${OTHER_SUB}`,
          topicType: "Microsoft.Resources.Subscriptions",
        });
        const deadLetterRoles = ofType(resources, "Microsoft.Authorization/roleAssignments").filter((r) =>
          r.id.includes("/containers/eventgrid-deadletter/"),
        );
        expect(deadLetterRoles.map((r) => String(r.properties?.principalId))).toContainEqual(
          expect.stringContaining(`reference('${SHARED_TOPIC}'`),
        );
      });

      it("needs no resource group of the app's in the topic's subscription", () => {
        const { resources } = deployed(reused);
        expect(ofType(resources, "Microsoft.Resources/resourceGroups").map((r) => r.id)).toEqual([
          `/subscriptions/${APP_SUB}/resourceGroups/rg-dev`,
        ]);
        const { resources: created } = deployed(outOfScopeVaults);
        expect(ofType(created, "Microsoft.Resources/resourceGroups").map((r) => r.id)).toContain(
          `/subscriptions/${OTHER_SUB}/resourceGroups/rg-dev-events`,
        );
      });

      it(
        "refuses an id that is not a system topic's, saying what to pass",
        { timeout: 120_000 },
        async () => {
          const malformed = await snapshot({ scopes: OTHER_SUB, existingSystemTopics: "shared-topic" });
          expect(malformed.ok).toBe(false);
          expect(malformed.ok ? "" : malformed.output).toContain(
            "existingSystemTopics (PGFLEX_EXISTING_SYSTEM_TOPICS): shared-topic is not a system topic resource id. Use /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.EventGrid/systemTopics/<name>",
          );
        },
      );

      it(
        "refuses a topic outside the subscriptions in scope, naming PGFLEX_SCOPES",
        { timeout: 120_000 },
        async () => {
          const notInScope = await snapshot({ existingSystemTopics: SHARED_TOPIC });
          expect(notInScope.ok).toBe(false);
          expect(notInScope.ok ? "" : notInScope.output).toContain(
            `existingSystemTopics (PGFLEX_EXISTING_SYSTEM_TOPICS): ${SHARED_TOPIC} is in a subscription that is not in scope (PGFLEX_SCOPES). Add its subscription to PGFLEX_SCOPES or remove the topic`,
          );
        },
      );

      it("refuses two topics for one subscription", { timeout: 120_000 }, async () => {
        const twoInOneSubscription = await snapshot({
          scopes: OTHER_SUB,
          existingSystemTopics: `${SHARED_TOPIC},${SHARED_TOPIC}2`,
        });
        expect(twoInOneSubscription.ok).toBe(false);
        expect(twoInOneSubscription.ok ? "" : twoInOneSubscription.output).toContain(
          `names two topics in subscription ${OTHER_SUB}; a subscription has one Microsoft.Resources.Subscriptions system topic: keep that one.`,
        );
      });
    });

    describe("the app's Reader on the Backup vaults' subscription", () => {
      it("is granted even when PGFLEX_SCOPES leaves that subscription out", () => {
        const { resources, outputs } = deployed(outOfScopeVaults);
        expect(appReaders(resources, APP_SUB)).toHaveLength(1);
        expect(appReaders(resources, OTHER_SUB)).toHaveLength(1);
        expect(outputs.ROLE_SUBSCRIPTION_IDS).toEqual([OTHER_SUB, APP_SUB]);
      });

      it("is granted once when the subscription is in scope", () => {
        const { resources, outputs } = deployed(reused);
        expect(appReaders(resources, APP_SUB)).toHaveLength(1);
        expect(outputs.ROLE_SUBSCRIPTION_IDS).toEqual([APP_SUB, OTHER_SUB]);
      });
    });

    describe("the restore target (PGFLEX_RESTORE_TARGETS)", () => {
      let autoGrant: Snapshot;
      let existing: Snapshot;
      let none: Snapshot;

      beforeAll(async () => {
        [autoGrant, existing, none] = await Promise.all([
          snapshot({
            backupRegions: "westeurope,northeurope",
            autoGrantRoles: true,
            restoreRetentionDays: 30,
          }),
          snapshot({
            backupRegions: "westeurope,northeurope",
            autoGrantRoles: true,
            restoreContainerId: ` ${EXISTING_CONTAINER} `,
          }),
          snapshot({ restoreStorage: false }),
        ]);
      }, 240_000);

      function restoreAccount(resources: PredictedResource[]): PredictedResource {
        const accounts = ofType(resources, "Microsoft.Storage/storageAccounts").filter(
          (a) => a.properties?.allowCrossTenantReplication === true,
        );
        expect(accounts).toHaveLength(1);
        return accounts[0] as PredictedResource;
      }

      it("is a container of its own account, by default, that Azure Backup can write to and the app accepts", () => {
        const { resources, outputs } = deployed(reused);
        const account = restoreAccount(resources);
        expect(account.properties).toMatchObject({
          allowCrossTenantReplication: true,
          publicNetworkAccess: "Enabled",
          minimumTlsVersion: "TLS1_2",
          allowSharedKeyAccess: false,
          allowBlobPublicAccess: false,
          supportsHttpsTrafficOnly: true,
        });
        const container = `${account.id}/blobServices/default/containers/restores`;
        expect(
          ofType(resources, "Microsoft.Storage/storageAccounts/blobServices/containers").map((c) => c.id),
        ).toContain(container);
        const setting = siteSettings(resources).PGFLEX_RESTORE_TARGETS;
        expect(setting).toBe(container);
        expect(appSettingSchema.restoreTargets.schema.parse(setting)).toEqual([container]);
        expect(parseStorageTargetId(String(setting))?.kind).toBe("container");
        expect(outputs.RESTORE_CONTAINER_ID).toBe(container);
      });

      it("deletes restored files after 7 days by default, or the days asked for", () => {
        for (const [result, days] of [
          [reused, 7],
          [autoGrant, 30],
        ] as const) {
          const { resources } = deployed(result);
          const account = restoreAccount(resources);
          const policies = ofType(resources, "Microsoft.Storage/storageAccounts/managementPolicies");
          expect(policies.map((p) => p.id)).toContain(`${account.id}/managementPolicies/default`);
          const policy = policies.find((p) => p.id.startsWith(`${account.id}/`));
          expect(policy?.properties).toEqual({
            policy: {
              rules: [
                {
                  name: "delete-restored-files",
                  enabled: true,
                  type: "Lifecycle",
                  definition: {
                    filters: { blobTypes: ["blockBlob", "appendBlob"], prefixMatch: ["restores/"] },
                    actions: { baseBlob: { delete: { daysAfterCreationGreaterThan: days } } },
                  },
                },
              ],
            },
          });
        }
      });

      it("lets each vault identity write restored files, and the app list and read them, on the container only", () => {
        const { resources } = deployed(autoGrant);
        const account = restoreAccount(resources);
        const container = `${account.id}/blobServices/default/containers/restores`;
        const onContainer = assignmentsAt(resources, container);
        const writers = onContainer.filter((a) => roleOf(a) === STORAGE_BLOB_DATA_CONTRIBUTOR.id);
        const writingVaults = writers.map(
          (a) =>
            /\/providers\/Microsoft\.DataProtection\/backupVaults\/bvault-[a-z0-9]+-([a-z0-9]+)'/.exec(
              String(a.properties?.principalId),
            )?.[1],
        );
        expect(writingVaults.sort()).toEqual(["northeurope", "westeurope"]);
        const readers = onContainer.filter((a) => roleOf(a) === STORAGE_BLOB_DATA_READER);
        expect(readers.map((a) => String(a.properties?.principalId))).toEqual([
          expect.stringContaining("Microsoft.ManagedIdentity/userAssignedIdentities/"),
        ]);
        expect(assignmentsAt(resources, account.id).map(roleOf)).toEqual([READER]);
        // No data role of the vaults anywhere else on the account.
        expect(
          ofType(resources, "Microsoft.Authorization/roleAssignments").filter(
            (a) => a.id.startsWith(`${account.id}/`) && !a.id.startsWith(`${container}/providers/`),
          ),
        ).toHaveLength(1);
      });

      it("lets the app grant Storage Blob Data Contributor to the vault identities on the container when auto-grant is on", () => {
        const { resources } = deployed(autoGrant);
        const container = `${restoreAccount(resources).id}/blobServices/default/containers/restores`;
        const grants = assignmentsAt(resources, container).filter((a) => roleOf(a) === RBAC_ADMINISTRATOR);
        expect(grants).toHaveLength(1);
        // bicep snapshot leaves the condition a format() over the vault identities' principal ids.
        const condition = String(grants[0]?.properties?.condition);
        expect(grants[0]?.properties?.conditionVersion).toBe("2.0");
        const template = condition.slice(0, condition.indexOf("', "));
        const args = condition.slice(condition.indexOf("', ") + 3);
        expect(template).toContain(
          "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{0}}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {{{1}}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {{''ServicePrincipal''}})",
        );
        expect(args).toMatch(
          new RegExp(
            `^'${STORAGE_BLOB_DATA_CONTRIBUTOR.id}', join\\(createArray\\(reference\\('[^']+/backupVaults/bvault-[a-z0-9]+-westeurope', '[^']+', 'full'\\)\\.identity\\.principalId, reference\\('[^']+/backupVaults/bvault-[a-z0-9]+-northeurope', '[^']+', 'full'\\)\\.identity\\.principalId\\), ', '\\), '${STORAGE_BLOB_DATA_CONTRIBUTOR.id}', `,
          ),
        );
        // The subscription-wide grant still cannot hand out the storage role: only on the allow-listed container.
        const subscriptionGrants = assignmentsAt(resources, `/subscriptions/${APP_SUB}`).filter(
          (a) => roleOf(a) === RBAC_ADMINISTRATOR,
        );
        expect(subscriptionGrants).toHaveLength(1);
        expect(String(subscriptionGrants[0]?.properties?.condition)).not.toContain(
          STORAGE_BLOB_DATA_CONTRIBUTOR.id,
        );
        const { resources: withoutAutoGrant } = deployed(reused);
        expect(
          ofType(withoutAutoGrant, "Microsoft.Authorization/roleAssignments").filter(
            (a) => roleOf(a) === RBAC_ADMINISTRATOR,
          ),
        ).toEqual([]);
      });

      it("uses an existing container instead, with only its role assignments", () => {
        const { resources, outputs } = deployed(existing);
        expect(
          ofType(resources, "Microsoft.Storage/storageAccounts").filter(
            (a) => a.properties?.allowCrossTenantReplication === true,
          ),
        ).toEqual([]);
        expect(ofType(resources, "Microsoft.Storage/storageAccounts/managementPolicies")).toEqual([]);
        expect(siteSettings(resources).PGFLEX_RESTORE_TARGETS).toBe(EXISTING_CONTAINER);
        expect(outputs.RESTORE_CONTAINER_ID).toBe(EXISTING_CONTAINER);
        expect(assignmentsAt(resources, EXISTING_CONTAINER).map(roleOf).sort()).toEqual(
          [
            STORAGE_BLOB_DATA_CONTRIBUTOR.id,
            STORAGE_BLOB_DATA_CONTRIBUTOR.id,
            STORAGE_BLOB_DATA_READER,
            RBAC_ADMINISTRATOR,
          ].sort(),
        );
        expect(
          assignmentsAt(
            resources,
            `/subscriptions/${OTHER_SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stshared`,
          ).map(roleOf),
        ).toEqual([READER]);
      });

      it("is left out, with restores off, when restoreStorage is false", () => {
        const { resources, outputs } = deployed(none);
        expect(
          ofType(resources, "Microsoft.Storage/storageAccounts").filter(
            (a) => a.properties?.allowCrossTenantReplication === true,
          ),
        ).toEqual([]);
        expect(
          ofType(resources, "Microsoft.Authorization/roleAssignments").filter(
            (a) => roleOf(a) === STORAGE_BLOB_DATA_READER,
          ),
        ).toEqual([]);
        expect(siteSettings(resources).PGFLEX_RESTORE_TARGETS).toBe("");
        expect(outputs.RESTORE_CONTAINER_ID).toBe("");
      });

      it(
        "refuses an account id given as the existing container, saying what to pass",
        { timeout: 120_000 },
        async () => {
          const accountId = EXISTING_CONTAINER.replace("/blobServices/default/containers/pg-restores", "");
          const result = await snapshot({ restoreContainerId: accountId });
          expect(result.ok).toBe(false);
          expect(result.ok ? "" : result.output).toContain(
            `restoreContainerId (PGFLEX_RESTORE_CONTAINER_ID): ${accountId} is not a blob container resource id; Azure Backup restores into a container, not an account. Use /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/<container>.`,
          );
        },
      );
    });

    describe("storage endpoints", () => {
      it("come from the cloud's storage suffix, so sovereign clouds work", () => {
        const { resources } = deployed(reused);
        const settings = ofType(resources, "Microsoft.Web/sites/config")[0]?.properties ?? {};
        for (const service of ["blob", "queue", "table"]) {
          expect(settings[`AzureWebJobsStorage__${service}ServiceUri`]).toMatch(
            new RegExp(
              `^\\[format\\('https://\\{0\\}\\.${service}\\.\\{1\\}', '[a-z0-9]+', environment\\(\\)\\.suffixes\\.storage\\)\\]$`,
            ),
          );
        }
        expect(bicepSources(infraDir).filter((source) => source.includes("core.windows.net"))).toEqual([]);
        expect(settings.PGFLEX_ARM_ENDPOINT).toBe("[environment().resourceManager]");
      });
    });
  },
);
