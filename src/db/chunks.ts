/**
 * Splits rows for multi-row INSERTs: PostgreSQL allows at most 65,535 bind parameters per
 * statement, so a batch is written in slices of `size` rows (1,000 rows x <= 13 columns).
 */
export function* chunks<T>(rows: readonly T[], size = 1000): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
