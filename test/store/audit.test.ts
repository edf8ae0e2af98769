import { describe, expect, it } from "vitest";
import { useAzurite } from "../support/azurite.js";
import { createStorageConnection } from "../../src/lib/store/connection.js";
import type { Config } from "../../src/lib/config/index.js";
import { createAuditLog, createInMemoryAuditLog, type AuditLog } from "../../src/lib/store/audit.js";

async function collect(log: AuditLog, day: Date): Promise<string[]> {
  const out: string[] = [];
  for await (const e of log.list({ day })) out.push(`${e.action} ${e.cause} ${e.detail ?? ""}`.trim());
  return out;
}

function contract(name: string, make: (now: () => Date) => AuditLog) {
  describe(name, () => {
    it("appends entries with their cause and lists a day newest first", async () => {
      let now = "2026-11-25T10:00:00.000Z";
      const log = make(() => new Date(now));
      await log.append({
        action: "stateChange",
        target: "/s/1",
        cause: "event:e1",
        detail: "Pending -> Validating",
      });
      now = "2026-11-25T10:00:01.000Z";
      await log.append({ action: "createBackupInstance", target: "/v/bi", cause: "event:e1" });
      now = "2026-11-26T00:00:01.000Z";
      await log.append({ action: "grantRole", target: "/rg", cause: "sweep:s1" });

      expect(await collect(log, new Date("2026-11-25T12:00:00Z"))).toEqual([
        "createBackupInstance event:e1",
        "stateChange event:e1 Pending -> Validating",
      ]);
      expect(await collect(log, new Date("2026-11-26T12:00:00Z"))).toEqual(["grantRole sweep:s1"]);
    });
  });
}

contract("in-memory audit log", (now) => createInMemoryAuditLog(now));

describe("table audit log (Azurite)", () => {
  const azurite = useAzurite();
  let n = 0;
  contract("audit table", (now) => {
    const connection = createStorageConnection({ storageConnection: azurite.connectionString } as Config);
    return createAuditLog(connection, {
      tableClient: connection.tableClient(`audit${++n}x${Date.now() % 100000}`),
      now,
    });
  });
});
