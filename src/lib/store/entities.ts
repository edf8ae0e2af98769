import type { TableClient } from "@azure/data-tables";
import { ConflictError, isRestError } from "../errors.js";
import type { OperationOptions } from "../util/options.js";

/** The keys of a Table row. */
export interface EntityKeys {
  partitionKey: string;
  rowKey: string;
}

/** A row as the store modules write it: keys plus typed columns. */
export type Entity = EntityKeys & Record<string, unknown>;

/** The listed fields of `source` that are set: Tables stores no `undefined` column. */
export function definedFields<T extends object>(
  source: T,
  fields: readonly (keyof T & string)[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) if (source[field] !== undefined) out[field] = source[field];
  return out;
}

/** The listed columns of a stored row that hold a value (absent and null columns are left out). */
export function storedFields(
  entity: Record<string, unknown>,
  fields: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value = entity[field];
    if (value !== undefined && value !== null) out[field] = value;
  }
  return out;
}

export interface WriteEntityOptions extends OperationOptions {
  /** Names the row in a ConflictError, e.g. `Cursor jobs/{vault id}`. */
  row: string;
}

export interface ReplaceEntityOptions extends WriteEntityOptions {
  /** The ETag read (`*`: any version, but the row must exist); absent: create-or-replace without a guard. */
  etag?: string;
}

/** Statuses that mean another writer got there first: re-read, then decide again. */
const CONFLICT_STATUSES = [409, 412, 404];

function conflictOf(e: unknown, row: string): unknown {
  if (isRestError(e) && e.statusCode !== undefined && CONFLICT_STATUSES.includes(e.statusCode)) {
    return new ConflictError(`${row} changed concurrently (HTTP ${e.statusCode}).`, { cause: e });
  }
  return e;
}

/** Creates the row; ConflictError when it exists already. Returns the new ETag. */
export async function createEntity(
  client: TableClient,
  entity: Entity,
  options: WriteEntityOptions,
): Promise<string | undefined> {
  try {
    return (await client.createEntity(entity, { abortSignal: options.abortSignal })).etag;
  } catch (e) {
    throw conflictOf(e, options.row);
  }
}

/**
 * Replaces the row only while it still has the ETag read, so a concurrent write is never lost: 412 (written
 * meanwhile) and 404 (deleted meanwhile) become ConflictError. Without an ETag: create-or-replace.
 * Returns the new ETag.
 */
export async function replaceEntity(
  client: TableClient,
  entity: Entity,
  options: ReplaceEntityOptions,
): Promise<string | undefined> {
  try {
    const response = options.etag
      ? await client.updateEntity(entity, "Replace", { etag: options.etag, abortSignal: options.abortSignal })
      : await client.upsertEntity(entity, "Replace", { abortSignal: options.abortSignal });
    return response.etag;
  } catch (e) {
    throw conflictOf(e, options.row);
  }
}
