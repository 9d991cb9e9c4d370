import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { AppContext } from '../app-context.ts';
import type { Database } from '../db/database.ts';
import { isConnectionFailure } from '../db/connection-failure.ts';

/** How often, and for how long, a money transaction whose commit went unanswered is looked for. */
const WATCH_EVERY_MS = 1_000;
const WATCH_FOR_MS = 10 * 60_000;

/**
 * A money transaction (a recharge, a refund or adjustment) whose COMMIT went unanswered (the
 * connection dropped: `isConnectionFailure`) may have committed. The client gets 503 and may
 * never retry; the live dormitory was not told. This looks for it (`committed`, by its
 * reference) once a second while the database is away, for at most ten minutes, and calls
 * `found` once if it committed. An outside attack left a dormitory at a live balance 1,000 fen
 * above its ledger, uncut in arrears, until the server restarted.
 */
export function watchForLostCommit(error: unknown, committed: () => Promise<boolean>, found: () => void, log: Pick<Logger, 'warn'>): void {
  if (!isConnectionFailure(error)) return;
  const giveUpAt = Date.now() + WATCH_FOR_MS;
  const look = (): void => {
    committed().then(
      (yes) => {
        if (!yes) return;
        log.warn({}, 'a money transaction whose commit went unanswered did commit: its dormitory is brought up to date from the database');
        found();
      },
      () => {
        if (Date.now() < giveUpAt) setTimeout(look, WATCH_EVERY_MS).unref();
      },
    );
  };
  setTimeout(look, WATCH_EVERY_MS).unref();
}

/**
 * A money transaction (fenced, `context.fence`) whose lost commit is watched for: when its COMMIT
 * goes unanswered, `committed` looks for its row and `found` is called if it is there.
 */
export async function moneyTransaction<T>(context: AppContext, work: (trx: Transaction<Database>) => Promise<T>, committed: () => Promise<boolean>, found: () => void): Promise<T> {
  try {
    return await context.db.transaction().execute(async (trx) => {
      await context.fence?.(trx);
      return work(trx);
    });
  } catch (error) {
    watchForLostCommit(error, committed, found, context.log);
    throw error;
  }
}
