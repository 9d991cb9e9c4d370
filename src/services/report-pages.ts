import { DomainError } from '../errors.ts';

/**
 * Keyset paging of long reports: JSON answers one page and the cursor of the next; exports
 * walk every page, so a campus-wide list is never held in memory at once.
 */
export interface ReportPage<R> {
  readonly rows: readonly R[];
  /** Opaque: pass as `after` for the next page; null on the last page. */
  readonly next: string | null;
}

/** Rows per page an export reads. */
export const EXPORT_PAGE_SIZE = 500;

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key inside a cursor, checked by `guard`; a 400 naming `field` (default `after`) when it is not one of ours. */
export function decodeCursor<K>(cursor: string | undefined, guard: (value: unknown) => value is K, field = 'after'): K | null {
  if (cursor === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!guard(value)) throw new DomainError('VALIDATION_FAILED', `${field} is not a cursor this report gave`, field);
  return value;
}

/** A page of `limit` rows read with one extra, so the next cursor is null exactly on the last page. */
export async function keysetPage<R, K>(read: (after: K | null, limit: number) => Promise<readonly R[]>, after: K | null, limit: number, keyOf: (row: R) => K): Promise<ReportPage<R>> {
  const rows = await read(after, limit + 1);
  const page = rows.slice(0, limit);
  return { rows: page, next: rows.length > limit ? encodeCursor(keyOf(page[page.length - 1]!)) : null };
}

/** Every row, page after page (each page one query). */
export async function* everyRow<R, K>(read: (after: K | null, limit: number) => Promise<readonly R[]>, keyOf: (row: R) => K): AsyncGenerator<R> {
  let after: K | null = null;
  for (;;) {
    const rows = await read(after, EXPORT_PAGE_SIZE);
    yield* rows;
    if (rows.length < EXPORT_PAGE_SIZE) return;
    after = keyOf(rows[rows.length - 1]!);
  }
}
