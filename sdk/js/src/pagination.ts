/**
 * Pages of a list endpoint. `await client.printers.list()` is one page (`data`,
 * `pagination`); `for await (const p of page)` walks every item of every page, fetching
 * the next page only when the loop reaches it. The API pages by number
 * (`page`/`per_page`, `pagination.total_pages`; api-reference.md).
 */

import type { Pagination } from './types.js';

export class Page<T> implements AsyncIterable<T> {
  constructor(
    readonly data: T[],
    readonly pagination: Pagination,
    private readonly fetchPage: (page: number) => Promise<Page<T>>,
  ) {}

  /** Items across all pages (not only this one). */
  get total(): number {
    return this.pagination.total;
  }

  hasNextPage(): boolean {
    // An empty page ends the walk even if the totals say otherwise (rows deleted meanwhile).
    return this.data.length > 0 && this.pagination.page < this.pagination.total_pages;
  }

  /** The following page, fetched now, or null after the last one. */
  async nextPage(): Promise<Page<T> | null> {
    return this.hasNextPage() ? this.fetchPage(this.pagination.page + 1) : null;
  }

  /** This page and each following one, fetched as the loop gets there. */
  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> | null = this;
    while (page) {
      yield page;
      page = await page.nextPage();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

/**
 * What `list()` returns: a promise of the first page that is also async-iterable over
 * every item, so both `await client.jobs.list()` and `for await (const j of
 * client.jobs.list())` work.
 */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  constructor(private readonly first: Promise<Page<T>>) {
    // The error is delivered to whoever awaits or iterates; never an unhandled rejection.
    first.catch(() => undefined);
  }

  then<R1 = Page<T>, R2 = never>(
    onFulfilled?: ((value: Page<T>) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.first.then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.first.catch(onRejected);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    yield* await this.first;
  }
}
