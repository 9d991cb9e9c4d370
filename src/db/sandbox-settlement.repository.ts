import type { Executor } from './executor.ts';

/** What the sandbox provider's pay page confirmed for an out-trade-no (the provider's record, not the server's payment row). */
export interface SandboxSettlement {
  readonly reference: string;
  readonly status: 'paid' | 'failed';
  readonly amount: number;
  readonly transactionId: string;
  readonly settledAt: string;
}

type Row = { reference: string; status: 'paid' | 'failed'; amount: number; transaction_id: string; settled_at: Date };
const toSettlement = (r: Row): SandboxSettlement => ({ reference: r.reference, status: r.status, amount: r.amount, transactionId: r.transaction_id, settledAt: new Date(r.settled_at).toISOString() });

export async function findSandboxSettlement(db: Executor, reference: string): Promise<SandboxSettlement | undefined> {
  const row = await db.selectFrom('sandbox_settlements').select(['reference', 'status', 'amount', 'transaction_id', 'settled_at']).where('reference', '=', reference).executeTakeFirst();
  return row ? toSettlement(row) : undefined;
}

/** Records a settlement once: a second confirm of the same order answers the first settlement. */
export async function recordSandboxSettlement(db: Executor, input: { reference: string; status: 'paid' | 'failed'; amount: number; transactionId: string; settledAt: Date }): Promise<SandboxSettlement> {
  await db
    .insertInto('sandbox_settlements')
    .values({ reference: input.reference, status: input.status, amount: input.amount, transaction_id: input.transactionId, settled_at: input.settledAt })
    .onConflict((oc) => oc.column('reference').doNothing())
    .execute();
  const stored = await findSandboxSettlement(db, input.reference);
  if (!stored) throw new Error(`sandbox settlement ${input.reference} vanished`);
  return stored;
}
