import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
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
const base = { environmentName: "dev", location: "westeurope" };

function snapshot(params: Record<string, string>): Promise<Snapshot> {
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
