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
  /** Names the posting for exactly-once writing (`postingKeysPresent`); unique in the ledger. */
  readonly postingKey?: string;
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

/** Accounts locked and updated per statement pair: 3 bind parameters each, far below PostgreSQL's 65,535. */
const ACCOUNTS_PER_STATEMENT = 1000;

/** The order accounts are locked in: the byte order of their keys, which is PostgreSQL's `COLLATE "C"` order of (dormitory_id, purse). */
const byKeyBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Appends postings inside the caller's transaction: the accounts' balances move set-based, two
 * statements per 1,000 accounts (their rows locked in key order, so concurrent posters serialise
 * per account and never deadlock, and held to commit; then one UPDATE ... FROM VALUES), then one
 * multi-row INSERT with each entry's running balance. A group commit of 20,000 rooms' charges
 * was one UPDATE per account before (issue 13: commits of 1 to 5 s). The ledger is append-only
 * (a trigger refuses UPDATE and DELETE); `accounts.balance` is a cache that `reconcile` proves
 * against the entries.
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
  for (const keys of chunks([...sums.keys()].sort(byKeyBytes), ACCOUNTS_PER_STATEMENT)) {
    const accounts = keys.map((key) => sums.get(key)!);
    // A join on VALUES, not `(dormitory_id, purse) in (...)`: PGlite's parser recurses per element
    // of an IN list of row constructors and ran out of stack (ERRORDATA_STACK_SIZE exceeded).
    const moves = sql.join(accounts.map((a) => sql`(${a.dormitoryId}::text, ${a.purse}::text, ${a.sum}::bigint)`));
    await sql`select a.id from accounts as a join (values ${moves}) as v (dormitory_id, purse, sum) on a.dormitory_id = v.dormitory_id and a.purse = v.purse
      order by a.dormitory_id collate "C", a.purse collate "C" for update of a`.execute(trx);
    const updated = await sql<{ id: number; dormitory_id: string; purse: Purse; balance: number }>`update accounts as a
      set balance = a.balance + v.sum, updated_at = now()
      from (values ${moves}) as v (dormitory_id, purse, sum)
      where a.dormitory_id = v.dormitory_id and a.purse = v.purse
      returning a.id, a.dormitory_id, a.purse, a.balance`.execute(trx);
    for (const row of updated.rows) {
      const key = accountKey(row.dormitory_id, row.purse);
      running.set(key, { accountId: Number(row.id), balance: Number(row.balance) - sums.get(key)!.sum });
    }
    const missing = accounts.find((a) => !running.has(accountKey(a.dormitoryId, a.purse)));
    if (missing) throw new AccountMissingError(missing.dormitoryId, missing.purse);
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
      posting_key: p.postingKey ?? null,
    };
  });
  const rows = [];
  for (const slice of chunks(values)) {
    rows.push(...(await trx.insertInto('ledger_entries').values(slice).returning(['id', 'dormitory_id', 'purse', 'amount', 'balance_after']).execute()));
  }
  return rows.map((r) => ({ id: r.id, dormitoryId: r.dormitory_id, purse: r.purse, amount: r.amount, balanceAfter: r.balance_after }));
}

/** Which of these posting keys the ledger already holds (a commit whose reply was lost wrote them). */
export async function postingKeysPresent(db: Executor, keys: readonly string[]): Promise<Set<string>> {
  const present = new Set<string>();
  for (const slice of chunks(keys)) {
    const rows = await db.selectFrom('ledger_entries').select('posting_key').where('posting_key', 'in', slice).execute();
    for (const row of rows) if (row.posting_key !== null) present.add(row.posting_key);
  }
  return present;
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
