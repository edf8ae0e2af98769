/**
 * Azure regions have a name (`canadacentral`) and a display name (`Canada Central`); PostgreSQL Flexible
 * answers `location` as either. Compare and send the name only: Data Protection bodies take it.
 */
export function normalizeRegion(region: string): string {
  return region.replace(/\s+/g, "").toLowerCase();
}
