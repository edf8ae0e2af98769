import type { AbortSignalLike } from "@azure/abort-controller";

/** Same shape as `PagedAsyncIterableIterator` of @azure/core-paging, which the official SDK clients return. */
export interface PageSettings {
  continuationToken?: string;
  maxPageSize?: number;
}

export interface PagedAsyncIterableIterator<
  TElement,
  TPage = TElement[],
  TPageSettings extends PageSettings = PageSettings,
> {
  next(): Promise<IteratorResult<TElement>>;
  [Symbol.asyncIterator](): PagedAsyncIterableIterator<TElement, TPage, TPageSettings>;
  byPage(settings?: TPageSettings): AsyncIterableIterator<TPage & { continuationToken?: string }>;
}

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
): PagedAsyncIterableIterator<T> {
  async function* pages(
    settings?: PageSettings,
  ): AsyncIterableIterator<T[] & { continuationToken?: string }> {
    let link = settings?.continuationToken;
    let first = link === undefined;
    while (first || link) {
      first = false;
      const page = await fetchPage(link, abortSignal);
      link = page.nextLink || undefined;
      const out = page.items as T[] & { continuationToken?: string };
      out.continuationToken = link;
      yield out;
    }
  }
  async function* items(): AsyncIterableIterator<T> {
    for await (const page of pages()) yield* page;
  }
  const iter = items();
  const paged: PagedAsyncIterableIterator<T> = {
    next: () => iter.next(),
    [Symbol.asyncIterator]: () => paged,
    byPage: (settings) => pages(settings),
  };
  return paged;
}
