import type { DataProtectionSlice, InstanceRecord } from "./state.js";

/**
 * Backup instances by key, by vault and by datasource, so a request does not walk every instance of the
 * emulator (at 80,000 instances that walk cost ~100 ms a request). Each map keeps the `instances` object's
 * insertion order, so lists, pages, skip tokens and scheduled jobs come out in the order a walk of the object
 * gives. The first look at an `instances` object (a new slice, or one a seed import put in place) indexes it
 * and puts a proxy in its place that keeps the maps in step with every key set or deleted, by the provider
 * or by a test writing the state directly; a record changed in place needs nothing (the maps hold the
 * records themselves).
 */
interface InstanceIndex {
  all: Map<string, InstanceRecord>;
  byVault: Map<string, Map<string, InstanceRecord>>;
  byDatasource: Map<string, Map<string, InstanceRecord>>;
}

/** By the proxy standing in as `slice.instances`. */
const indexes = new WeakMap<object, InstanceIndex>();

type Groups = Map<string, Map<string, InstanceRecord>>;

function add(groups: Groups, group: string, k: string, record: InstanceRecord): void {
  let members = groups.get(group);
  if (!members) {
    members = new Map();
    groups.set(group, members);
  }
  // An existing key keeps its place, as it does in the object.
  members.set(k, record);
}

function remove(groups: Groups, group: string, k: string): void {
  const members = groups.get(group);
  if (!members) return;
  members.delete(k);
  if (members.size === 0) groups.delete(group);
}

function stored(index: InstanceIndex, k: string, record: InstanceRecord): void {
  const previous = index.all.get(k);
  index.all.set(k, record);
  if (previous && previous.vaultKey !== record.vaultKey) remove(index.byVault, previous.vaultKey, k);
  if (previous && previous.datasourceKey !== record.datasourceKey)
    remove(index.byDatasource, previous.datasourceKey, k);
  add(index.byVault, record.vaultKey, k, record);
  add(index.byDatasource, record.datasourceKey, k, record);
}

function removed(index: InstanceIndex, k: string): void {
  const previous = index.all.get(k);
  if (!previous) return;
  index.all.delete(k);
  remove(index.byVault, previous.vaultKey, k);
  remove(index.byDatasource, previous.datasourceKey, k);
}

function indexOf(slice: DataProtectionSlice): InstanceIndex {
  const known = indexes.get(slice.instances);
  if (known) return known;
  const target = slice.instances;
  const index: InstanceIndex = { all: new Map(), byVault: new Map(), byDatasource: new Map() };
  for (const [k, record] of Object.entries(target)) stored(index, k, record);
  const watched = new Proxy(target, {
    set(t, k, value: InstanceRecord) {
      const done = Reflect.set(t, k, value);
      if (done && typeof k === "string") stored(index, k, value);
      return done;
    },
    deleteProperty(t, k) {
      const done = Reflect.deleteProperty(t, k);
      if (done && typeof k === "string") removed(index, k);
      return done;
    },
  });
  indexes.set(watched, index);
  slice.instances = watched;
  return index;
}

/** Every instance, in the `instances` object's order. */
export function allInstances(slice: DataProtectionSlice): Iterable<InstanceRecord> {
  return indexOf(slice).all.values();
}

/** The vault's instances (lower-cased vault id), in the `instances` object's order. */
export function instancesOfVault(slice: DataProtectionSlice, vaultKey: string): InstanceRecord[] {
  return [...(indexOf(slice).byVault.get(vaultKey)?.values() ?? [])];
}

/** The instances protecting a datasource (lower-cased id), in the `instances` object's order. */
export function instancesOfDatasource(slice: DataProtectionSlice, datasourceKey: string): InstanceRecord[] {
  return [...(indexOf(slice).byDatasource.get(datasourceKey)?.values() ?? [])];
}
