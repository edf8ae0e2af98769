/** Durations as Data Protection writes them (job durations, policy schedules). */

/** ISO 8601 (`PT12M15.82S`) or .NET TimeSpan (`00:00:00`, `1.02:03:04.5`) durations, in ms. */
export function parseDurationInMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
  if (iso) {
    const [, d, h, m, s] = iso;
    return Math.round(
      ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(m ?? 0)) * 60_000 + Number(s ?? 0) * 1000,
    );
  }
  const span = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value);
  if (span) {
    const [, d, h, m, s] = span;
    return Math.round(((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000);
  }
  return undefined;
}
