import { describe, expect, it } from "vitest";
import { getOrUndefined, isNotFound } from "../../src/lib/util/notFound.js";

function aRestError(statusCode: number): Error & { statusCode: number } {
  return Object.assign(new Error(`HTTP ${statusCode}`), { name: "RestError", statusCode });
}

describe("getOrUndefined", () => {
  it("returns what the read returns", async () => {
    expect(await getOrUndefined(async () => "row")).toBe("row");
  });

  it("is undefined when the service answers 404", async () => {
    expect(await getOrUndefined(() => Promise.reject(aRestError(404)))).toBeUndefined();
  });

  it("rethrows any other failure unchanged", async () => {
    const forbidden = aRestError(403);
    await expect(getOrUndefined(() => Promise.reject(forbidden))).rejects.toBe(forbidden);
    const plain = Object.assign(new Error("not found"), { statusCode: 404 });
    await expect(getOrUndefined(() => Promise.reject(plain))).rejects.toBe(plain);
  });
});

describe("isNotFound", () => {
  it("is true only for a RestError with status 404", () => {
    expect(isNotFound(aRestError(404))).toBe(true);
    expect(isNotFound(aRestError(412))).toBe(false);
    expect(isNotFound({ name: "RestError", statusCode: 404 })).toBe(false);
  });
});
