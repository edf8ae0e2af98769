import type { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/lib/errors.js";
import {
  createEntity,
  definedFields,
  replaceEntity,
  storedFields,
  type Entity,
} from "../../src/lib/store/entities.js";

function aRestError(statusCode: number): Error & { statusCode: number } {
  return Object.assign(new Error(`HTTP ${statusCode}`), { name: "RestError", statusCode });
}

/** Records each write; `fail` answers the next write with that status. */
function aTable(fail?: number): { client: TableClient; calls: string[] } {
  const calls: string[] = [];
  const answer = async (call: string) => {
    calls.push(call);
    if (fail) throw aRestError(fail);
    return { etag: 'W/"2"' };
  };
  const client = {
    createEntity: (e: Entity) => answer(`create ${e.rowKey}`),
    upsertEntity: (e: Entity, mode: string) => answer(`upsert ${e.rowKey} ${mode}`),
    updateEntity: (e: Entity, mode: string, o: { etag: string }) =>
      answer(`update ${e.rowKey} ${mode} ${o.etag}`),
  } as unknown as TableClient;
  return { client, calls };
}

const row: Entity = { partitionKey: "p", rowKey: "r", value: 1 };

describe("replaceEntity", () => {
  it("replaces only the version read when given its ETag, and returns the new ETag", async () => {
    const { client, calls } = aTable();
    expect(await replaceEntity(client, row, { etag: 'W/"1"', row: "Row r" })).toBe('W/"2"');
    expect(calls).toEqual(['update r Replace W/"1"']);
  });

  it("creates or replaces without a guard when there is no ETag", async () => {
    const { client, calls } = aTable();
    await replaceEntity(client, row, { row: "Row r" });
    expect(calls).toEqual(["upsert r Replace"]);
  });

  it("turns a lost race (412) or a row deleted meanwhile (404) into a ConflictError naming the row", async () => {
    for (const status of [412, 404]) {
      const write = replaceEntity(aTable(status).client, row, { etag: 'W/"1"', row: "Cursor jobs/v" });
      await expect(write).rejects.toThrow(ConflictError);
      await expect(write).rejects.toThrow(`Cursor jobs/v changed concurrently (HTTP ${status}).`);
    }
  });

  it("rethrows any other failure unchanged", async () => {
    await expect(replaceEntity(aTable(503).client, row, { row: "Row r" })).rejects.toMatchObject({
      name: "RestError",
      statusCode: 503,
    });
  });
});

describe("createEntity", () => {
  it("turns an existing row (409) into a ConflictError", async () => {
    await expect(createEntity(aTable(409).client, row, { row: "Server row for x" })).rejects.toThrow(
      "Server row for x changed concurrently (HTTP 409).",
    );
  });
});

describe("field lists", () => {
  it("writes only the set fields and reads back only columns that hold a value", () => {
    const record = { a: 1, b: undefined, c: "x" };
    expect(definedFields(record, ["a", "b", "c"])).toEqual({ a: 1, c: "x" });
    expect(storedFields({ a: 1, b: null, c: "x", odata: "skip" }, ["a", "b", "c"])).toEqual({ a: 1, c: "x" });
  });
});
