/** Why an archive could not be read: cut short, damaged, or a kind this inspector does not read. */
export type ArchiveFailureKind = "truncated" | "corrupt" | "unsupported";

/**
 * An archive that cannot be read, with the byte offset where reading stopped and what was expected there.
 * `fix` says what to do next. Every failure the inspector reports is one of these; anything else is a bug.
 */
export class ArchiveError extends Error {
  override readonly name = "ArchiveError";
  constructor(
    readonly kind: ArchiveFailureKind,
    /** Byte offset in the archive where the bad or missing field starts. */
    readonly offset: number,
    /** What was wrong there, without the offset. */
    readonly reason: string,
    readonly fix: string = defaultFix(kind),
  ) {
    super(
      `${kind === "unsupported" ? "Unsupported archive" : `Archive ${kind}`} at byte ${offset}: ${reason}`,
    );
  }
}

function defaultFix(kind: ArchiveFailureKind): string {
  switch (kind) {
    case "truncated":
      return "The file is shorter than its own structure says: copy or download it again, or take a new backup.";
    case "corrupt":
      return "The file is damaged: copy or download it again; if it stays damaged, restore another recovery point.";
    case "unsupported":
      return "Inspect it with pg_restore --list, or dump with pg_dump -Fc (custom format).";
  }
}
