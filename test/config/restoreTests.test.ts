import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/lib/config/index.js";

const base = { AzureWebJobsStorage: "UseDevelopmentStorage=true" };
const ACCOUNT =
  "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-restore/providers/Microsoft.Storage/storageAccounts/strestore";
const CONTAINER = `${ACCOUNT}/blobServices/default/containers/restore-tests`;

describe("restore test settings", () => {
  it("are off by default, testing the latest point weekly, one at a time", () => {
    const config = loadConfig(base);
    expect(config.restoreTests).toBe("");
    expect(config.restoreTestPoint).toEqual({ kind: "latest" });
    expect(config).toMatchObject({
      restoreTestEveryDays: 7,
      restoreTestConcurrency: 1,
      restoreTestKeepHours: 24,
      restoreTestDropPercent: 50,
      restoreTestRowsMaxGb: 10,
    });
  });

  it("read random:<days> and a container inside an allowed account", () => {
    const config = loadConfig({
      ...base,
      PGFLEX_RESTORE_TESTS: "0 0 * * * *",
      PGFLEX_RESTORE_TARGETS: ACCOUNT,
      PGFLEX_RESTORE_TEST_TARGET: CONTAINER,
      PGFLEX_RESTORE_TEST_POINT: "random:30",
      PGFLEX_RESTORE_TEST_ROWS_MAX_GB: "0.5",
    });
    expect(config.restoreTestPoint).toEqual({ kind: "random", days: 30 });
    expect(config.restoreTestRowsMaxGb).toBe(0.5);
  });

  it("refuse a target that is not a restore target, naming both settings", () => {
    expect(() =>
      loadConfig({
        ...base,
        PGFLEX_RESTORE_TARGETS: `${ACCOUNT}/blobServices/default/containers/restores`,
        PGFLEX_RESTORE_TEST_TARGET: CONTAINER,
      }),
    ).toThrow(
      `PGFLEX_RESTORE_TEST_TARGET="${CONTAINER}": the container is not in PGFLEX_RESTORE_TARGETS (${ACCOUNT}/blobServices/default/containers/restores): add it (or its storage account) there, or pick one of those. Example: PGFLEX_RESTORE_TEST_TARGET=${ACCOUNT}/blobServices/default/containers/restores`,
    );
  });

  it("refuse a schedule without a target", () => {
    expect(() => loadConfig({ ...base, PGFLEX_RESTORE_TESTS: "0 0 * * * *" })).toThrow(
      /PGFLEX_RESTORE_TEST_TARGET=\(unset\): PGFLEX_RESTORE_TESTS schedules restore tests/,
    );
  });

  it("name the bad value and an example", () => {
    expect(() => loadConfig({ ...base, PGFLEX_RESTORE_TEST_POINT: "oldest" })).toThrow(
      'PGFLEX_RESTORE_TEST_POINT="oldest": must be latest or random:<days> with days of 1 or more. Example: PGFLEX_RESTORE_TEST_POINT=random:30',
    );
    expect(() => loadConfig({ ...base, PGFLEX_RESTORE_TEST_DROP_PERCENT: "150" })).toThrow(
      'PGFLEX_RESTORE_TEST_DROP_PERCENT="150": must be between 1 and 100. Example: PGFLEX_RESTORE_TEST_DROP_PERCENT=50',
    );
    expect(() => loadConfig({ ...base, PGFLEX_RESTORE_TESTS: "hourly" })).toThrow(
      /PGFLEX_RESTORE_TESTS="hourly": .*NCRONTAB/,
    );
  });
});
