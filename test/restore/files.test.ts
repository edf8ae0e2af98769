import { describe, expect, it } from "vitest";
import { restoredFiles } from "../../src/lib/restore/files.js";

const A = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
const B = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
const blob = (guid: string, name: string, createdOn: string) => ({
  name: `${guid}_${name}`,
  sizeInBytes: 10,
  createdOn,
});

describe("the files of a restore", () => {
  it("are not an earlier restore's written into the same container minutes before this one started", () => {
    const blobs = [
      blob(A, "database_orders.sql", "2026-11-20T10:01:00Z"),
      blob(A, "roles.sql", "2026-11-20T10:01:01Z"),
      blob(B, "database_orders.sql", "2026-11-20T10:04:00Z"),
      blob(B, "roles.sql", "2026-11-20T10:04:01Z"),
    ];
    const files = restoredFiles(blobs, new Date("2026-11-20T10:03:00Z"));
    expect(files.map((f) => f.name)).toEqual([`${B}_database_orders.sql`, `${B}_roles.sql`]);
  });

  it("allow for the storage clock running a little behind: the latest restore written just before the start", () => {
    const blobs = [
      blob(A, "database_orders.sql", "2026-11-20T09:58:30Z"),
      blob(B, "database_orders.sql", "2026-11-20T09:59:30Z"),
    ];
    const files = restoredFiles(blobs, new Date("2026-11-20T10:00:00Z"));
    expect(files.map((f) => f.name)).toEqual([`${B}_database_orders.sql`]);
  });
});
