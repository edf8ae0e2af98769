/**
 * The arithmetic of a token bucket kept as a row (the fleet's ARM budget, `store/armBudget.ts`): pure, so the
 * Table store and test fakes compute the same thing. The row holds `tokens` as of `atInMs`; tokens may be
 * negative: a reservation taken ahead of the refill (the holder waits until the refill covers it) or a 429's
 * drain.
 */
export interface BucketRow {
  tokens: number;
  /** When `tokens` was true (ms since the epoch, on the clock of the instance that wrote it). */
  atInMs: number;
}

export interface BucketShape {
  /** Most tokens the row holds. */
  capacity: number;
  perSecond: number;
}

/**
 * The row as of `nowInMs`. Time never runs backwards on the row: an instance whose clock is behind the
 * last writer's sees no refill (and leaves `atInMs` alone) until its clock passes it, so clock skew between
 * instances can add at most skew × rate tokens once, never on every alternation.
 */
export function refillRow(row: BucketRow | undefined, shape: BucketShape, nowInMs: number): BucketRow {
  if (!row) return { tokens: shape.capacity, atInMs: nowInMs };
  const elapsed = Math.max(0, nowInMs - row.atInMs) / 1000;
  return {
    tokens: Math.min(shape.capacity, row.tokens + elapsed * shape.perSecond),
    atInMs: Math.max(row.atInMs, nowInMs),
  };
}

/**
 * Reserves `wanted` tokens: the new row, and how long from `nowInMs` the holder waits before spending them
 * (0 when the row had them; otherwise until the refill pays the debt, in arrival order across the fleet).
 */
export function reserveFromRow(
  row: BucketRow | undefined,
  wanted: number,
  shape: BucketShape,
  nowInMs: number,
): { row: BucketRow; waitInMs: number } {
  const current = refillRow(row, shape, nowInMs);
  const tokens = current.tokens - wanted;
  return {
    row: { tokens, atInMs: current.atInMs },
    waitInMs: tokens >= 0 ? 0 : Math.ceil((-tokens / shape.perSecond) * 1000),
  };
}

/** The row holding at most `tokens` (a 429's drain is negative); undefined when it holds no more already. */
export function lowerRow(
  row: BucketRow | undefined,
  tokens: number,
  shape: BucketShape,
  nowInMs: number,
): BucketRow | undefined {
  const current = refillRow(row, shape, nowInMs);
  return current.tokens <= tokens ? undefined : { tokens, atInMs: current.atInMs };
}
