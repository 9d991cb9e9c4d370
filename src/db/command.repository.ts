import { chunks } from './chunks.ts';
import type { Executor } from './executor.ts';

export interface CommandView {
  readonly id: string;
  readonly meterId: string | null;
  readonly circuit: string;
  readonly action: 'cut' | 'restore';
  readonly reason: string;
  readonly state: 'requested' | 'sent' | 'confirmed' | 'failed';
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly sentAt: string | null;
  readonly completedAt: string | null;
  readonly detail: string | null;
}

const iso = (value: Date | string | null): string | null => (value ? new Date(value).toISOString() : null);

/** Commands sent to a dormitory's circuits, newest first, with their lifecycle timestamps. */
export async function listCommands(db: Executor, dormitoryId: string, page: { page: number; pageSize: number }): Promise<{ items: CommandView[]; total: number }> {
  const base = db.selectFrom('commands').where('dormitory_id', '=', dormitoryId);
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy('requested_at', 'desc').orderBy('id').limit(page.pageSize).offset((page.page - 1) * page.pageSize).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    total: Number(count.n),
    items: rows.map((r) => ({
      id: r.id,
      meterId: r.meter_id,
      circuit: r.target,
      action: r.action,
      reason: r.reason,
      state: r.state,
      requestedBy: r.requested_by,
      requestedAt: iso(r.requested_at)!,
      sentAt: iso(r.sent_at),
      completedAt: iso(r.completed_at),
      detail: r.detail,
    })),
  };
}

/**
 * Closes the commands to these gateways' meters that an earlier run of the server left open
 * (`requested` or `sent`): it was killed or crashed before the meter answered, and nothing else
 * will ever close them. They become `failed` with `detail`, at `at`. Only the gateways this
 * server drives are swept: a command to a gateway another server drives is that server's to
 * close. So are the open commands of meters that no longer exist (removed while their command
 * waited for a retry, then the server was killed): no gateway drives them, no answer can come.
 * Returns how many were closed.
 */
export async function closeInterruptedCommands(db: Executor, gatewayIds: readonly string[], at: Date, detail: string): Promise<number> {
  const orphans = await db
    .updateTable('commands')
    .set({ state: 'failed', completed_at: at, detail })
    .where('state', 'in', ['requested', 'sent'])
    .where((eb) => eb.or([eb('meter_id', 'is', null), eb.not(eb.exists(eb.selectFrom('meters').select('meters.id').whereRef('meters.id', '=', 'commands.meter_id')))]))
    .executeTakeFirst();
  let closed = Number(orphans.numUpdatedRows);
  for (const slice of chunks(gatewayIds)) {
    const result = await db
      .updateTable('commands')
      .set({ state: 'failed', completed_at: at, detail })
      .where('state', 'in', ['requested', 'sent'])
      .where('meter_id', 'in', (eb) => eb.selectFrom('meters').select('meters.id').where('meters.gateway_id', 'in', slice))
      .executeTakeFirst();
    closed += Number(result.numUpdatedRows);
  }
  return closed;
}
