import type { AbortSignalLike } from "@azure/abort-controller";
import type { PagedAsyncIterableIterator, PageSettings } from "@azure/core-paging";

/** One page of elements with the `nextLink` to resume from, as the official SDK clients' pages carry it. */
export type ContinuablePage<T> = T[] & { continuationToken?: string };

export interface Page<T> {
  items: T[];
  nextLink?: string;
}

/**
 * Builds the iterator from a page fetcher: `undefined` fetches the first page, a string fetches that
 * `nextLink` verbatim. `byPage({ continuationToken })` resumes from a saved nextLink.
 */
export function createPagedIterator<T>(
  fetchPage: (nextLink: string | undefined, abortSignal?: AbortSignalLike) => Promise<Page<T>>,
  abortSignal?: AbortSignalLike,
): PagedAsyncIterableIterator<T, ContinuablePage<T>> {
  async function* pages(settings?: PageSettings): AsyncIterableIterator<ContinuablePage<T>> {
    let link = settings?.continuationToken;
    let first = link === undefined;
    while (first || link) {
      first = false;
      const page = await fetchPage(link, abortSignal);
      link = page.nextLink || undefined;
      const out: ContinuablePage<T> = page.items;
      out.continuationToken = link;
      yield out;
    }
  }
  async function* items(): AsyncIterableIterator<T> {
    for await (const page of pages()) yield* page;
  }
  const iter = items();
  const paged: PagedAsyncIterableIterator<T, ContinuablePage<T>> = {
    next: () => iter.next(),
    [Symbol.asyncIterator]: () => paged,
    byPage: (settings) => pages(settings),
  };
  return paged;
}
