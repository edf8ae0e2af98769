import { describe, expect, it } from "vitest";
import {
  allInstances,
  instancesOfDatasource,
  instancesOfVault,
} from "../../../dev/emulator/providers/dataprotection/instanceIndex.js";
import { emptySlice, type InstanceRecord } from "../../../dev/emulator/providers/dataprotection/state.js";

const vault = (v: string) =>
  `/subscriptions/s/resourcegroups/rg/providers/microsoft.dataprotection/backupvaults/${v}`;
const record = (v: string, name: string, server = name): InstanceRecord => ({
  id: `${vault(v)}/backupInstances/${name}`,
  vaultKey: vault(v),
  name,
  properties: {},
  datasourceKey: `/subscriptions/s/resourcegroups/rg/providers/microsoft.dbforpostgresql/flexibleservers/${server}`,
  protectionStatus: "ProtectionConfigured",
  currentProtectionState: "ProtectionConfigured",
  provisioningState: "Succeeded",
  createdAt: "2026-12-05T00:00:00Z",
});
const put = (slice: ReturnType<typeof emptySlice>, r: InstanceRecord) => {
  slice.instances[r.id.toLowerCase()] = r;
};
/** What the walk of the whole object answered before the index: the reference. */
const walked = (slice: ReturnType<typeof emptySlice>, v: string) =>
  Object.values(slice.instances)
    .filter((r) => r.vaultKey === vault(v))
    .map((r) => r.name);

describe("Data Protection instance index", () => {
  it("answers what a walk of the instances answers, in the same order, through direct writes and deletes", () => {
    const slice = emptySlice();
    for (const name of ["a", "b", "c"]) put(slice, record("v1", name));
    put(slice, record("v2", "d"));
    expect(instancesOfVault(slice, vault("v1")).map((r) => r.name)).toEqual(["a", "b", "c"]);
    // Written straight into the state after the index exists, as tests and LRO completions do.
    delete slice.instances[record("v1", "a").id.toLowerCase()];
    put(slice, record("v1", "e"));
    put(slice, record("v1", "a"));
    put(slice, { ...record("v1", "b"), tags: { replaced: "yes" } });
    expect(instancesOfVault(slice, vault("v1")).map((r) => r.name)).toEqual(walked(slice, "v1"));
    expect(instancesOfVault(slice, vault("v1")).map((r) => r.name)).toEqual(["b", "c", "e", "a"]);
    expect(instancesOfVault(slice, vault("v1"))[0]?.tags).toEqual({ replaced: "yes" });
    expect([...allInstances(slice)].map((r) => r.name)).toEqual(
      Object.values(slice.instances).map((r) => r.name),
    );
    expect(instancesOfDatasource(slice, record("v2", "d").datasourceKey).map((r) => r.name)).toEqual(["d"]);
    delete slice.instances[record("v2", "d").id.toLowerCase()];
    expect(instancesOfDatasource(slice, record("v2", "d").datasourceKey)).toEqual([]);
    expect(instancesOfVault(slice, vault("v2"))).toEqual([]);
    // Still plain data: a copy has every instance.
    expect(Object.keys({ ...slice.instances })).toHaveLength(4);
  });

  it("rebuilds from a new instances object (a seed import puts one in place)", () => {
    const slice = emptySlice();
    put(slice, record("v1", "a"));
    expect(instancesOfVault(slice, vault("v1"))).toHaveLength(1);
    slice.instances = { [record("v1", "x").id.toLowerCase()]: record("v1", "x") };
    expect(instancesOfVault(slice, vault("v1")).map((r) => r.name)).toEqual(["x"]);
  });
});
