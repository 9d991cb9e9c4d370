import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database, Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { balancesOf } from '../db/ledger.repository.ts';
import { enqueueNotifications } from '../db/notification.repository.ts';
import { DAYS_LEFT_WINDOW_DAYS, estimateDaysLeft, type DaysLeft } from '../domain/days-left.ts';

const DAY_MS = 86_400_000;
const PURSES: readonly Purse[] = ['electricity', 'water'];

export type DormitoryDaysLeft = Record<Purse, DaysLeft>;

/** Consumption charged per dormitory and purse in [since, until), in fen (positive). */
async function chargedBetween(db: Executor, dormitoryIds: readonly string[], since: Date, until: Date): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('ledger_entries')
    .select((eb) => ['dormitory_id', 'purse', eb.fn.sum<number>('amount').as('total')])
    .where('dormitory_id', 'in', [...dormitoryIds])
    .where('kind', '=', 'consumption_charge')
    .where('occurred_at', '>=', since)
    .where('occurred_at', '<', until)
    .groupBy(['dormitory_id', 'purse'])
    .execute();
  return new Map(rows.map((r) => [`${r.dormitory_id}|${r.purse}`, -Number(r.total)]));
}

/** Each dormitory's estimate per purse at `now`, from the ledger's last 7 days and its balance. */
export async function daysLeftOf(db: Executor, dormitoryIds: readonly string[], now: number): Promise<Map<string, DormitoryDaysLeft>> {
  const result = new Map<string, DormitoryDaysLeft>();
  if (dormitoryIds.length === 0) return result;
  const [balances, charged] = await Promise.all([balancesOf(db, dormitoryIds), chargedBetween(db, dormitoryIds, new Date(now - DAYS_LEFT_WINDOW_DAYS * DAY_MS), new Date(now))]);
  for (const id of dormitoryIds) {
    const balance = balances.get(id) ?? { electricity: 0, water: 0 };
    result.set(id, {
      electricity: estimateDaysLeft(balance.electricity, charged.get(`${id}|electricity`) ?? 0),
      water: estimateDaysLeft(balance.water, charged.get(`${id}|water`) ?? 0),
    });
  }
  return result;
}

/**
 * Announces "about N days left" once per crossing: when a purse's estimate falls below
 * `alertDays` and was not below before; it re-arms once the estimate is back at or above the
 * line. The crossing state (`days_left_alerts`) and the notification commit together.
 * Returns the purses announced.
 */
export async function checkDaysLeft(db: Kysely<Database>, dormitoryIds: readonly string[], now: number, alertDays: number, onEstimates?: (estimates: ReadonlyMap<string, DormitoryDaysLeft>) => void): Promise<string[]> {
  const estimates = await daysLeftOf(db, dormitoryIds, now);
  onEstimates?.(estimates);
  const previous = await db.selectFrom('days_left_alerts').select(['dormitory_id', 'purse', 'below']).where('dormitory_id', 'in', [...dormitoryIds]).execute();
  const wasBelow = new Set(previous.filter((r) => r.below).map((r) => `${r.dormitory_id}|${r.purse}`));
  const announced: string[] = [];
  for (const [dormitoryId, estimate] of estimates) {
    for (const purse of PURSES) {
      const { days } = estimate[purse];
      const key = `${dormitoryId}|${purse}`;
      const below = days !== null && days < alertDays;
      if (below === wasBelow.has(key) && previous.some((r) => `${r.dormitory_id}|${r.purse}` === key)) continue;
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('days_left_alerts')
          .values({ dormitory_id: dormitoryId, purse, below, days_left: days, updated_at: new Date(now) })
          .onConflict((oc) => oc.columns(['dormitory_id', 'purse']).doUpdateSet({ below, days_left: days, updated_at: new Date(now) }))
          .execute();
        if (!below || wasBelow.has(key)) return;
        await enqueueNotifications(trx, [
          {
            dormitoryId,
            kind: 'days_left',
            audience: 'students',
            message: `about ${days} days of ${purse} credit left`,
            details: { purse, days, dailyUseFen: estimate[purse].dailyUseFen },
            at: new Date(now),
          },
        ]);
        announced.push(key);
      });
    }
  }
  return announced;
}

const dormitoryIds = async (db: Kysely<Database>) => (await db.selectFrom('dormitories').select('id').orderBy('id').execute()).map((r) => r.id);

/**
 * Checks every dormitory each `everyMs` on the injected clock; returns a stop function.
 * `onEstimates` is given each batch's estimates (the live feed shows them): once at the start
 * (estimates only, no announcement) and after every check.
 */
export function watchDaysLeft(
  deps: { db: Kysely<Database>; clock: Clock; onError: (error: unknown) => void; onEstimates?: (estimates: ReadonlyMap<string, DormitoryDaysLeft>) => void },
  alertDays: number,
  everyMs: number,
): () => void {
  let cancel: () => void = () => undefined;
  let stopped = false;
  const onEstimates = deps.onEstimates;
  if (onEstimates) {
    void (async () => {
      const ids = await dormitoryIds(deps.db);
      for (let i = 0; i < ids.length && !stopped; i += 500) onEstimates(await daysLeftOf(deps.db, ids.slice(i, i + 500), deps.clock.now()));
    })().catch(deps.onError);
  }
  const tick = () => {
    void (async () => {
      const ids = await dormitoryIds(deps.db);
      for (let i = 0; i < ids.length && !stopped; i += 500) await checkDaysLeft(deps.db, ids.slice(i, i + 500), deps.clock.now(), alertDays, onEstimates);
    })()
      .catch(deps.onError)
      .finally(() => {
        if (!stopped) cancel = deps.clock.schedule(everyMs, tick);
      });
  };
  cancel = deps.clock.schedule(everyMs, tick);
  return () => {
    stopped = true;
    cancel();
  };
}
