import { sql } from 'kysely';
import type { LedgerEntryKind, Purse } from './database.ts';
import { chunks } from './chunks.ts';
import type { Executor } from './executor.ts';

/** A money movement to append. Amount is signed minor units: credits > 0, charges < 0. */
export interface LedgerPosting {
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly kind: LedgerEntryKind;
  readonly amount: number;
  readonly usage?: number | null;
  readonly meterId?: string | null;
  readonly reference?: string | null;
  readonly operator?: string | null;
  readonly occurredAt: Date;
  readonly details?: Record<string, unknown>;
}

export interface PostedEntry {
  readonly id: number;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly amount: number;
  readonly balanceAfter: number;
}

export class AccountMissingError extends Error {
  constructor(readonly dormitoryId: string, readonly purse: Purse) {
    super(`no ${purse} account for dormitory ${dormitoryId}`);
  }
}

const accountKey = (dormitoryId: string, purse: Purse) => `${dormitoryId}\u0000${purse}`;

export async function ensureAccounts(db: Executor, dormitoryId: string): Promise<void> {
  await db
    .insertInto('accounts')
    .values([
      { dormitory_id: dormitoryId, purse: 'electricity' },
      { dormitory_id: dormitoryId, purse: 'water' },
    ])
    .onConflict((oc) => oc.columns(['dormitory_id', 'purse']).doNothing())
    .execute();
}

/**
 * Appends postings inside the caller's transaction: one balance UPDATE per account (row lock
 * held to commit, so concurrent posters serialise per account), then one multi-row INSERT
 * with each entry's running balance. The ledger is append-only (a trigger refuses UPDATE and
 * DELETE); `accounts.balance` is a cache that `reconcile` proves against the entries.
 */
export async function appendPostings(trx: Executor, postings: readonly LedgerPosting[]): Promise<PostedEntry[]> {
  if (postings.length === 0) return [];
  const sums = new Map<string, { dormitoryId: string; purse: Purse; sum: number }>();
  for (const p of postings) {
    if (!Number.isSafeInteger(p.amount)) throw new RangeError(`ledger amount must be an integer, got ${p.amount}`);
    const key = accountKey(p.dormitoryId, p.purse);
    const entry = sums.get(key) ?? { dormitoryId: p.dormitoryId, purse: p.purse, sum: 0 };
    entry.sum += p.amount;
    sums.set(key, entry);
  }
  const running = new Map<string, { accountId: number; balance: number }>();
  // Lock order by key, so two batches touching the same accounts never deadlock.
  for (const key of [...sums.keys()].sort()) {
    const { dormitoryId, purse, sum } = sums.get(key)!;
    const row = await trx
      .updateTable('accounts')
      .set({ balance: sql<number>`balance + ${sum}`, updated_at: sql`now()` })
      .where('dormitory_id', '=', dormitoryId)
      .where('purse', '=', purse)
      .returning(['id', 'balance'])
      .executeTakeFirst();
    if (!row) throw new AccountMissingError(dormitoryId, purse);
    running.set(key, { accountId: row.id, balance: row.balance - sum });
  }
  const values = postings.map((p) => {
    const account = running.get(accountKey(p.dormitoryId, p.purse))!;
    account.balance += p.amount;
    return {
      account_id: account.accountId,
      dormitory_id: p.dormitoryId,
      purse: p.purse,
      kind: p.kind,
      amount: p.amount,
      usage: p.usage ?? null,
      balance_after: account.balance,
      meter_id: p.meterId ?? null,
      reference: p.reference ?? null,
      operator: p.operator ?? null,
      occurred_at: p.occurredAt,
      details: JSON.stringify(p.details ?? {}),
    };
  });
  const rows = [];
  for (const slice of chunks(values)) {
    rows.push(...(await trx.insertInto('ledger_entries').values(slice).returning(['id', 'dormitory_id', 'purse', 'amount', 'balance_after']).execute()));
  }
  return rows.map((r) => ({ id: r.id, dormitoryId: r.dormitory_id, purse: r.purse, amount: r.amount, balanceAfter: r.balance_after }));
}

export async function balancesOf(db: Executor, dormitoryIds: readonly string[]): Promise<Map<string, { electricity: number; water: number }>> {
  const result = new Map<string, { electricity: number; water: number }>();
  if (dormitoryIds.length === 0) return result;
  const rows = await db
    .selectFrom('accounts')
    .select(['dormitory_id', 'purse', 'balance'])
    .where('dormitory_id', 'in', dormitoryIds)
    .execute();
  for (const row of rows) {
    const entry = result.get(row.dormitory_id) ?? { electricity: 0, water: 0 };
    entry[row.purse] = row.balance;
    result.set(row.dormitory_id, entry);
  }
  return result;
}

export interface LedgerPage {
  readonly items: readonly {
    id: number;
    purse: Purse;
    kind: LedgerEntryKind;
    amount: number;
    usage: number | null;
    balanceAfter: number;
    reference: string | null;
    operator: string | null;
    meterId: string | null;
    occurredAt: string;
    details: Record<string, unknown>;
  }[];
  readonly total: number;
}

export async function listLedger(
  db: Executor,
  dormitoryId: string,
  options: { purse?: Purse | undefined; page: number; pageSize: number },
): Promise<LedgerPage> {
  let query = db.selectFrom('ledger_entries').where('dormitory_id', '=', dormitoryId);
  if (options.purse) query = query.where('purse', '=', options.purse);
  const [rows, count] = await Promise.all([
    query
      .selectAll()
      .orderBy('id', 'desc')
      .limit(options.pageSize)
      .offset((options.page - 1) * options.pageSize)
      .execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    total: Number(count.n),
    items: rows.map((r) => ({
      id: r.id,
      purse: r.purse,
      kind: r.kind,
      amount: r.amount,
      usage: r.usage,
      balanceAfter: r.balance_after,
      reference: r.reference,
      operator: r.operator,
      meterId: r.meter_id,
      occurredAt: new Date(r.occurred_at).toISOString(),
      details: r.details,
    })),
  };
}

export interface BalanceMismatch {
  readonly accountId: number;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly cachedBalance: number;
  readonly ledgerSum: number;
}

/** Every account whose cached balance differs from the sum of its ledger entries. */
export async function findBalanceMismatches(db: Executor): Promise<{ accounts: number; mismatches: BalanceMismatch[] }> {
  const rows = await db
    .selectFrom('accounts as a')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('ledger_entries')
          .select(['account_id', (e) => e.fn.sum<number>('amount').as('total')])
          .groupBy('account_id')
          .as('l'),
      (join) => join.onRef('l.account_id', '=', 'a.id'),
    )
    .select(['a.id', 'a.dormitory_id', 'a.purse', 'a.balance', sql<number>`coalesce(l.total, 0)`.as('ledger_sum')])
    .orderBy('a.id')
    .execute();
  const mismatches: BalanceMismatch[] = [];
  for (const r of rows) {
    const ledgerSum = Number(r.ledger_sum);
    if (ledgerSum !== r.balance) {
      mismatches.push({ accountId: r.id, dormitoryId: r.dormitory_id, purse: r.purse, cachedBalance: r.balance, ledgerSum });
    }
  }
  return { accounts: rows.length, mismatches };
}
