import { describe, expect, it } from "vitest";
import {
  classifyOrphan,
  classifyServer,
  type ClassifyServerInput,
} from "../../src/lib/compliance/classify.js";
import { readBackupTag } from "../../src/lib/domain/backupTag.js";
import {
  DAY,
  HOUR,
  NOW,
  VAULT_OTHER,
  VAULT_WEU,
  aServer,
  anInstance,
  rules,
} from "../fixtures/compliance/estate.js";

function input(overrides: Partial<ClassifyServerInput> = {}): ClassifyServerInput {
  return {
    server: aServer(),
    instances: [],
    managedVaultIds: new Set([VAULT_WEU]),
    expectedVaultId: VAULT_WEU,
    rules,
    now: NOW,
    ...overrides,
  };
}

describe("classifyServer", () => {
  const server = aServer();

  it("classifies a tagged server with a fresh backup on the right policy as Protected", () => {
    const c = classifyServer(input({ instances: [anInstance(server)] }));
    expect(c).toEqual({
      class: "Protected",
      reason:
        "pg-one is protected with policy pgflex-weekly; last successful backup 2026-11-23T12:00:00.000Z.",
      fix: "",
      tagValue: "weekly",
      expectedPolicyName: "pgflex-weekly",
      instanceId: `${VAULT_WEU}/backupinstances/pg-one-pg-one-bi`,
      vaultId: VAULT_WEU,
      policyName: "pgflex-weekly",
      lastBackupAt: "2026-11-23T12:00:00.000Z",
    });
  });

  it("is Protected just inside the policy period plus grace", () => {
    const last = new Date(NOW.getTime() - 8 * DAY).toISOString();
    expect(
      classifyServer(input({ instances: [anInstance(server, { lastSuccessfulBackupAt: last })] })).class,
    ).toBe("Protected");
  });

  it("is ProtectedStale one hour past the policy period plus grace", () => {
    const last = new Date(NOW.getTime() - 8 * DAY - HOUR).toISOString();
    const c = classifyServer(input({ instances: [anInstance(server, { lastSuccessfulBackupAt: last })] }));
    expect(c.class).toBe("ProtectedStale");
    expect(c.reason).toBe(
      "The last successful backup of pg-one (2026-11-17T11:00:00.000Z) is older than the policy period plus grace (192 h).",
    );
  });

  it("uses the policy's own period when the inventory knows it", () => {
    const last = new Date(NOW.getTime() - 2 * DAY).toISOString();
    const c = classifyServer(
      input({ instances: [anInstance(server, { lastSuccessfulBackupAt: last, policyPeriodInMs: DAY / 2 })] }),
    );
    expect(c.class).toBe("ProtectedStale");
  });

  it("is ProtectedStale when no successful backup is on record", () => {
    const c = classifyServer(
      input({ instances: [anInstance(server, { lastSuccessfulBackupAt: undefined })] }),
    );
    expect(c.class).toBe("ProtectedStale");
    expect(c.reason).toBe("pg-one has no successful backup on record in vault bv-weu.");
  });

  it("is Protected, awaiting its first backup, when this product protected it within the policy period plus grace", () => {
    const protectedAt = new Date(NOW.getTime() - 2 * DAY).toISOString();
    const c = classifyServer(
      input({
        instances: [anInstance(server, { lastSuccessfulBackupAt: undefined })],
        record: { state: "Protected", protectedAt },
      }),
    );
    expect(c.class).toBe("Protected");
    expect(c.reason).toBe(
      "pg-one is protected with policy pgflex-weekly since 2026-11-23T12:00:00.000Z; its first backup is due within the policy period plus grace (192 h).",
    );
  });

  it("is ProtectedStale when its first backup is overdue after this product protected it", () => {
    const protectedAt = new Date(NOW.getTime() - 8 * DAY - HOUR).toISOString();
    const c = classifyServer(
      input({
        instances: [anInstance(server, { lastSuccessfulBackupAt: undefined })],
        record: { state: "Protected", protectedAt },
      }),
    );
    expect(c.class).toBe("ProtectedStale");
    expect(c.reason).toBe("pg-one has no successful backup on record in vault bv-weu.");
  });

  it("is Unclassified, not stale, when no success is on record because the job history could not be read", () => {
    const c = classifyServer(
      input({
        instances: [anInstance(server, { lastSuccessfulBackupAt: undefined, lastBackupUnknown: true })],
      }),
    );
    expect(c).toMatchObject({
      class: "Unclassified",
      reason:
        "Could not tell whether the backups of pg-one are current: the job history of vault bv-weu could not be read.",
    });
  });

  it("is Protected while protection is still being configured, before any backup", () => {
    const c = classifyServer(
      input({
        instances: [
          anInstance(server, {
            protectionStatus: "ConfiguringProtection",
            currentProtectionState: "ConfiguringProtection",
            lastSuccessfulBackupAt: undefined,
          }),
        ],
      }),
    );
    expect(c.class).toBe("Protected");
    expect(c.reason).toBe("Protection of pg-one with policy pgflex-weekly is being configured.");
  });

  it("is TaggedUnprotected when the tag asks for a policy and there is no instance", () => {
    const c = classifyServer(input());
    expect(c).toEqual({
      class: "TaggedUnprotected",
      reason: "pg-one asks for policy pgflex-weekly (backup=weekly) but has no backup instance.",
      fix: "A sweep in enforce mode enqueues protection with policy pgflex-weekly in vault bv-weu.",
      tagValue: "weekly",
      expectedPolicyName: "pgflex-weekly",
    });
  });

  it("is TaggedUnprotected when the only instance was stopped", () => {
    const stopped = anInstance(server, {
      protectionStatus: "ProtectionStopped",
      currentProtectionState: "ProtectionStopped",
    });
    expect(classifyServer(input({ instances: [stopped] })).class).toBe("TaggedUnprotected");
  });

  it("reads tag names case-insensitively and values case-insensitively", () => {
    const c = classifyServer(
      input({ server: aServer({ tags: { BACKUP: " Weekly " } }), instances: [anInstance(server)] }),
    );
    expect(c.class).toBe("Protected");
  });

  it("is ProtectionFailed when the instance is in error, naming the service's code", () => {
    const broken = anInstance(server, {
      protectionStatus: "ProtectionError",
      currentProtectionState: "ProtectionError",
      errorCode: "UserErrorMissingRequiredPermissions",
      errorMessage: "The vault identity lacks Reader on the server",
    });
    const c = classifyServer(input({ instances: [broken] }));
    expect(c.class).toBe("ProtectionFailed");
    expect(c.reason).toBe(
      "Backup instance pg-one-pg-one-bi of pg-one is in error (UserErrorMissingRequiredPermissions): The vault identity lacks Reader on the server.",
    );
  });

  it("is ProtectionFailed when configuring protection failed", () => {
    const broken = anInstance(server, {
      protectionStatus: "ConfiguringProtectionFailed",
      currentProtectionState: undefined,
    });
    expect(classifyServer(input({ instances: [broken] })).class).toBe("ProtectionFailed");
  });

  it("is ProtectionFailed when the worker gave up on the server", () => {
    const c = classifyServer(
      input({
        record: {
          state: "MissingPermissions",
          lastErrorCode: "UserErrorMissingRequiredPermissions",
          lastErrorMessage: "Reader is missing",
          fix: "az role assignment create ...",
        },
      }),
    );
    expect(c).toMatchObject({
      class: "ProtectionFailed",
      reason: "Protecting pg-one failed (UserErrorMissingRequiredPermissions): Reader is missing.",
      fix: "az role assignment create ...",
    });
  });

  it("stays TaggedUnprotected when the worker is still working on it", () => {
    expect(classifyServer(input({ record: { state: "Validating" } })).class).toBe("TaggedUnprotected");
  });

  it("is ProtectionFailed when backups are suspended", () => {
    const suspended = anInstance(server, { currentProtectionState: "BackupSchedulesSuspended" });
    expect(classifyServer(input({ instances: [suspended] })).reason).toBe(
      "Backups of pg-one are suspended on backup instance pg-one-pg-one-bi.",
    );
  });

  it("is ProtectionFailed when the tag value names no policy", () => {
    const c = classifyServer(input({ server: aServer({ tags: { backup: "platinum" } }) }));
    expect(c).toMatchObject({
      class: "ProtectionFailed",
      reason: 'Tag value "platinum" on pg-one names no backup policy.',
      fix: 'Use one of "weekly", "gold" or add platinum=<policy> to PGFLEX_POLICY_MAP.',
    });
  });

  it("is ProtectionFailed when no vault serves the server's region", () => {
    const c = classifyServer(input({ server: aServer({ location: "eastus" }), expectedVaultId: undefined }));
    expect(c).toMatchObject({
      class: "ProtectionFailed",
      reason: "No Backup vault serves region eastus for pg-one.",
    });
  });

  it("is Unsupported, with the reason and the fix, when the tagged server is a read replica", () => {
    const c = classifyServer(input({ server: aServer({ replicationRole: "GeoAsyncReplica" }) }));
    expect(c).toEqual({
      class: "Unsupported",
      reason:
        "pg-one is a read replica (replicationRole GeoAsyncReplica); Azure Backup protects primary servers only.",
      fix: "Protect its primary server instead (tag the primary), and set its backup tag to none on the replica so nothing is owed.",
      tagValue: "weekly",
      expectedPolicyName: "pgflex-weekly",
    });
  });

  it("is Unsupported when the tagged server is over 1 TB, even with an instance whose backups will fail", () => {
    const big = aServer({ storageSizeGB: 1025 });
    const c = classifyServer(input({ server: big, instances: [anInstance(big)] }));
    expect(c).toMatchObject({
      class: "Unsupported",
      reason:
        "pg-one has 1025 GB of storage; Azure Backup protects servers up to 1 TB (1024 GB), and backups of larger servers fail.",
      instanceId: `${VAULT_WEU}/backupinstances/pg-one-pg-one-bi`,
    });
  });

  it("keeps primaries up to 1 TB, and untagged or opted-out replicas, in their usual classes", () => {
    const primary = aServer({ replicationRole: "Primary", storageSizeGB: 1024 });
    expect(classifyServer(input({ server: primary })).class).toBe("TaggedUnprotected");
    expect(classifyServer(input({ server: aServer({ replicationRole: "None" }) })).class).toBe(
      "TaggedUnprotected",
    );
    const replica = { replicationRole: "AsyncReplica" };
    expect(classifyServer(input({ server: aServer({ ...replica, tags: {} }) })).class).toBe("Untagged");
    expect(classifyServer(input({ server: aServer({ ...replica, tags: { backup: "none" } }) })).class).toBe(
      "OptedOut",
    );
  });

  it("is WrongPolicy when the tag asks for a policy other than the instance's", () => {
    const c = classifyServer(
      input({ server: aServer({ tags: { backup: "gold" } }), instances: [anInstance(server)] }),
    );
    expect(c).toMatchObject({
      class: "WrongPolicy",
      reason: "pg-one asks for policy pgflex-gold but backup instance pg-one-pg-one-bi uses pgflex-weekly.",
      expectedPolicyName: "pgflex-gold",
      policyName: "pgflex-weekly",
    });
  });

  it("reports WrongPolicy before staleness", () => {
    const c = classifyServer(
      input({
        server: aServer({ tags: { backup: "gold" } }),
        instances: [anInstance(server, { lastSuccessfulBackupAt: undefined })],
      }),
    );
    expect(c.class).toBe("WrongPolicy");
  });

  it("is ProtectedUntagged when an instance protects a server without the tag", () => {
    const c = classifyServer(
      input({ server: aServer({ tags: { env: "prod" } }), instances: [anInstance(server)] }),
    );
    expect(c).toMatchObject({
      class: "ProtectedUntagged",
      reason:
        'pg-one is protected by backup instance pg-one-pg-one-bi in vault bv-weu but has no "backup" tag.',
    });
  });

  it("is Untagged when there is neither tag nor instance", () => {
    expect(classifyServer(input({ server: aServer({ tags: {} }) }))).toEqual({
      class: "Untagged",
      reason: 'pg-one has no "backup" tag and no backup instance.',
      fix: "",
    });
    expect(classifyServer(input({ server: aServer({ tags: undefined }) })).class).toBe("Untagged");
  });

  it("is OptedOut for an opt-out value, and says so when an instance still protects it", () => {
    expect(classifyServer(input({ server: aServer({ tags: { backup: "none" } }) })).reason).toBe(
      "pg-one opts out of protection (backup=none).",
    );
    const still = classifyServer(
      input({ server: aServer({ tags: { backup: "OFF" } }), instances: [anInstance(server)] }),
    );
    expect(still).toMatchObject({
      class: "OptedOut",
      reason:
        "pg-one opts out (backup=off) but backup instance pg-one-pg-one-bi in vault bv-weu still protects it.",
      fix: "Stop protection in the vault if the opt-out is meant; this app never stops protection.",
    });
  });

  it("is ProtectedElsewhere when only a vault this app does not manage protects it", () => {
    const c = classifyServer(input({ instances: [anInstance(server, { vaultId: VAULT_OTHER })] }));
    expect(c).toMatchObject({
      class: "ProtectedElsewhere",
      reason:
        "pg-one is already protected by backup instance pg-one-pg-one-bi in vault bv-someone-else, which this app does not manage.",
      vaultId: VAULT_OTHER,
    });
  });

  it("prefers the managed vault's instance over one elsewhere", () => {
    const c = classifyServer(
      input({ instances: [anInstance(server, { vaultId: VAULT_OTHER }), anInstance(server)] }),
    );
    expect(c).toMatchObject({ class: "Protected", vaultId: VAULT_WEU });
  });

  it("is Unclassified, not unprotected, untagged, vault-less or elsewhere, when part of the inventory is missing", () => {
    const gap = "vault bv-weu could not be read";
    const expected = {
      class: "Unclassified",
      reason: "Could not tell whether pg-one is protected: vault bv-weu could not be read.",
      fix: "See the sweep's failures; the next sweep classifies it once the inventory can be read.",
    };
    expect(classifyServer(input({ inventoryGap: gap }))).toMatchObject(expected);
    expect(classifyServer(input({ inventoryGap: gap, server: aServer({ tags: {} }) }))).toEqual(expected);
    expect(classifyServer(input({ inventoryGap: gap, expectedVaultId: undefined }))).toMatchObject(expected);
    expect(
      classifyServer(input({ inventoryGap: gap, instances: [anInstance(server, { vaultId: VAULT_OTHER })] })),
    ).toMatchObject(expected);
  });

  it("still reports what it did see when part of the inventory is missing", () => {
    const gap = "vault bv-other could not be read";
    expect(classifyServer(input({ inventoryGap: gap, instances: [anInstance(server)] })).class).toBe(
      "Protected",
    );
    expect(
      classifyServer(input({ inventoryGap: gap, server: aServer({ tags: { backup: "none" } }) })).class,
    ).toBe("OptedOut");
    expect(
      classifyServer(input({ inventoryGap: gap, record: { state: "Failed", lastErrorMessage: "boom" } }))
        .class,
    ).toBe("ProtectionFailed");
  });

  it("is Unclassified, never a guess, when the tags are malformed", () => {
    const cases: Array<[unknown, string]> = [
      ["backup=weekly", "tags are string, not an object"],
      [["backup"], "tags are an array, not an object"],
      [{ backup: 7 }, 'tag "backup" has a number value'],
      [{ backup: null }, 'tag "backup" has a null value'],
      [{ backup: "  " }, 'tag "backup" is empty'],
      [
        { backup: "weekly", Backup: "gold" },
        'tag "backup" appears 2 times with different values ("backup", "Backup")',
      ],
      [{ backup: "x".repeat(257) }, 'tag "backup" is longer than 256 characters'],
      [{ backup: "week\u0001ly" }, 'tag "backup" contains control characters'],
    ];
    for (const [tags, problem] of cases) {
      const c = classifyServer(input({ server: aServer({ tags }), instances: [anInstance(server)] }));
      expect(c.class).toBe("Unclassified");
      expect(c.reason).toBe(`Tags of pg-one are malformed: ${problem}.`);
    }
  });
});

describe("readBackupTag", () => {
  it("accepts duplicate spellings that agree", () => {
    expect(readBackupTag({ backup: "Weekly", BACKUP: "weekly" }, "backup")).toEqual({
      kind: "value",
      value: "weekly",
    });
  });
});

describe("classifyOrphan", () => {
  it("classifies an instance whose server is gone as Deleted, never to be removed by the app", () => {
    const ghost = aServer({ name: "pg-gone" });
    const c = classifyOrphan(ghost.id, [anInstance(ghost)]);
    expect(c).toEqual({
      class: "Deleted",
      reason:
        "Server pg-gone no longer exists; backup instance pg-gone-pg-gone-bi (vault bv-weu) still holds its recovery points.",
      fix: "Keep the instance while its recovery points are needed; then stop protection and delete it in the vault. This app never deletes protection.",
      instanceId: `${VAULT_WEU}/backupinstances/pg-gone-pg-gone-bi`,
      vaultId: VAULT_WEU,
      policyName: "pgflex-weekly",
      lastBackupAt: "2026-11-23T12:00:00.000Z",
    });
  });
});
