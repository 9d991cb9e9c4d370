import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';
import type { Metrics } from '../../src/metrics/metrics.ts';
import { bucketPercentile, histogramDelta, histogramSnapshot, type HistogramSnapshot } from '../metric-reader.ts';
import { round } from '../stats.ts';

const TABLES = ['ledger_entries', 'billing_cursors', 'interval_readings', 'events', 'commands', 'alarms', 'audit_log'] as const;
type CountedTable = (typeof TABLES)[number];

/** The ledger's state at one moment: its two histograms and the row counts it writes to. */
export interface LedgerMark {
  readonly at: number;
  readonly wallClock: Date;
  readonly batchSize: HistogramSnapshot;
  readonly commitSeconds: HistogramSnapshot;
  readonly rows: Readonly<Record<CountedTable, number>>;
}

export interface LedgerFigures {
  readonly seconds: number;
  /** Group commits (one transaction each) and their rate over the load. */
  readonly commits: number;
  readonly commitsPerSecond: number;
  /** Items committed (campus_ledger_batch_size sum: postings with cursors, events, commands, intervals, audit). */
  readonly items: number;
  readonly itemsPerSecond: number;
  readonly meanBatchItems: number;
  /** Bucket upper bounds (campus_ledger_* histograms); null beyond the largest bucket. */
  readonly batchItemsP99AtMost: number | null;
  readonly meanCommitMs: number;
  readonly commitMsP99AtMost: number | null;
  /** Σ commit time / wall time. A commit's time runs from BEGIN to COMMIT and other work interleaves between its statements, so this is an upper bound of the database's share. */
  readonly commitBusyShare: number;
  /** Rows added per table during the window (updates of existing rows, e.g. cursors and accounts, not counted). */
  readonly rowsAdded: Readonly<Record<CountedTable, number>>;
  readonly rowsAddedPerSecond: number;
  /** billing_cursors rows at the end: every meter's last billed register, stored with its charges. */
  readonly billingCursorRows: number;
  /** billing_cursors rows rewritten during the window (each in the transaction of its meter's charges). */
  readonly billingCursorsUpdated: number;
}

export async function markLedger(metrics: Metrics, db: Kysely<Database>): Promise<LedgerMark> {
  const rows = {} as Record<CountedTable, number>;
  for (const table of TABLES) {
    const row = await db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
    rows[table] = Number(row.n);
  }
  return { at: performance.now(), wallClock: new Date(), batchSize: await histogramSnapshot(metrics.ledgerBatchSize), commitSeconds: await histogramSnapshot(metrics.ledgerCommitSeconds), rows };
}

/** What the group committer did between two marks. */
export async function ledgerFigures(db: Kysely<Database>, start: LedgerMark, end: LedgerMark): Promise<LedgerFigures> {
  const seconds = (end.at - start.at) / 1000;
  const batches = histogramDelta(start.batchSize, end.batchSize);
  const commits = histogramDelta(start.commitSeconds, end.commitSeconds);
  const rowsAdded = {} as Record<CountedTable, number>;
  let added = 0;
  for (const table of TABLES) {
    rowsAdded[table] = end.rows[table] - start.rows[table];
    added += rowsAdded[table];
  }
  const updated = await db.selectFrom('billing_cursors').select(sql<number>`count(*)`.as('n')).where('updated_at', '>=', start.wallClock).executeTakeFirstOrThrow();
  const p99Commit = bucketPercentile(commits, 99);
  return {
    seconds: round(seconds, 2),
    commits: commits.count,
    commitsPerSecond: round(commits.count / seconds, 1),
    items: batches.sum,
    itemsPerSecond: round(batches.sum / seconds),
    meanBatchItems: batches.count ? round(batches.sum / batches.count, 1) : 0,
    batchItemsP99AtMost: bucketPercentile(batches, 99),
    meanCommitMs: commits.count ? round((commits.sum / commits.count) * 1000, 1) : 0,
    commitMsP99AtMost: p99Commit === null ? null : round(p99Commit * 1000, 1),
    commitBusyShare: round(commits.sum / seconds, 3),
    rowsAdded,
    rowsAddedPerSecond: round(added / seconds),
    billingCursorRows: end.rows.billing_cursors,
    billingCursorsUpdated: Number(updated.n),
  };
}
