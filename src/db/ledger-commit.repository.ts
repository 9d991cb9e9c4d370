import { sql } from 'kysely';
import type { Executor } from './executor.ts';

/**
 * Claims a group commit's key inside its transaction: false when a transaction with that key has
 * already committed (the first attempt went through and only its reply was lost). A concurrent
 * claim of the same key waits for the first to end (the primary key), then finds it taken.
 */
export async function claimCommitKey(trx: Executor, key: string): Promise<boolean> {
  const claimed = await trx.insertInto('ledger_commits').values({ key }).onConflict((oc) => oc.column('key').doNothing()).returning('key').executeTakeFirst();
  return claimed !== undefined;
}

/** Forgets the keys of commits older than `keptDays` by the database's clock (a retry comes within minutes of its first attempt). */
export async function pruneCommitKeys(db: Executor, keptDays: number): Promise<number> {
  const result = await db.deleteFrom('ledger_commits').where('committed_at', '<', sql<Date>`now() - make_interval(days => ${keptDays})`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
