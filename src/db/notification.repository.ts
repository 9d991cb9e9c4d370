import type { Announcement } from '../domain/notifications/announcement.ts';
import { chunks } from './chunks.ts';
import type { Executor } from './executor.ts';

/** One notification of one recipient, as the in-app list shows it. */
export interface NotificationView {
  readonly id: number;
  readonly dormitoryId: string | null;
  readonly kind: string;
  readonly message: string;
  readonly details: Record<string, unknown>;
  readonly createdAt: string;
  readonly readAt: string | null;
}

/** A pending outbox row, as the dispatcher delivers it. */
export interface OutboxNotification extends NotificationView {
  readonly recipient: string;
  readonly audience: 'student' | 'staff';
  readonly attempts: number;
  readonly deliveredChannels: readonly string[];
}

/** A recipient of a notification: an operator username (a student's number, or a staff login). */
export interface Recipient {
  readonly recipient: string;
  readonly audience: 'student' | 'staff';
}

const iso = (d: Date | string): string => new Date(d).toISOString();

/** Students whose stay in each dormitory is open, by dormitory. */
async function residentsOf(trx: Executor, dormitoryIds: readonly string[]): Promise<Map<string, string[]>> {
  const byDormitory = new Map<string, string[]>();
  if (dormitoryIds.length === 0) return byDormitory;
  const rows = await trx
    .selectFrom('occupancies')
    .select(['dormitory_id', 'student_number'])
    .where('dormitory_id', 'in', [...new Set(dormitoryIds)])
    .where('to_day', 'is', null)
    .where('checked_out_at', 'is', null)
    .orderBy('id')
    .execute();
  for (const r of rows) byDormitory.set(r.dormitory_id, [...(byDormitory.get(r.dormitory_id) ?? []), r.student_number]);
  return byDormitory;
}

/** Enabled admins and managers: staff hear of cut-offs and safety trips. */
async function staffOf(trx: Executor): Promise<string[]> {
  const rows = await trx.selectFrom('operators').select('username').where('role', 'in', ['admin', 'manager']).where('disabled', '=', false).orderBy('id').execute();
  return rows.map((r) => r.username);
}

/**
 * Writes one row per recipient of each announcement, in the caller's transaction (the one
 * that persists the event it announces): the students whose stay in the dormitory is open and,
 * for `students_and_staff`, every enabled admin and manager. A dedupe key a recipient already
 * has writes nothing.
 */
export async function enqueueNotifications(trx: Executor, announcements: readonly Announcement[]): Promise<void> {
  if (announcements.length === 0) return;
  const residents = await residentsOf(trx, announcements.map((a) => a.dormitoryId));
  const staff = announcements.some((a) => a.audience === 'students_and_staff') ? await staffOf(trx) : [];
  const recipientsOf = (a: Announcement): Recipient[] => [
    ...(residents.get(a.dormitoryId) ?? []).map((recipient) => ({ recipient, audience: 'student' as const })),
    ...(a.audience === 'students_and_staff' ? staff.map((recipient) => ({ recipient, audience: 'staff' as const })) : []),
  ];
  await enqueueFor(trx, announcements.flatMap((a) => recipientsOf(a).map((r) => ({ announcement: a, to: r }))));
}

/** Writes notifications to named recipients (a settlement tells the student who left). */
export async function enqueueFor(trx: Executor, items: readonly { announcement: Announcement; to: Recipient }[]): Promise<void> {
  for (const slice of chunks(items)) {
    await trx
      .insertInto('notifications')
      .values(
        slice.map(({ announcement: a, to }) => ({
          recipient: to.recipient,
          audience: to.audience,
          dormitory_id: a.dormitoryId,
          kind: a.kind,
          message: a.message,
          details: JSON.stringify(a.details),
          dedupe_key: a.dedupeKey ?? null,
          created_at: a.at,
          next_attempt_at: a.at,
        })),
      )
      .onConflict((oc) => oc.columns(['recipient', 'dedupe_key']).doNothing())
      .execute();
  }
}

interface Row {
  id: number;
  dormitory_id: string | null;
  kind: string;
  message: string;
  details: Record<string, unknown>;
  created_at: Date;
  read_at: Date | null;
}

const toView = (r: Row): NotificationView => ({
  id: r.id,
  dormitoryId: r.dormitory_id,
  kind: r.kind,
  message: r.message,
  details: r.details,
  createdAt: iso(r.created_at),
  readAt: r.read_at === null ? null : iso(r.read_at),
});

const viewColumns = ['id', 'dormitory_id', 'kind', 'message', 'details', 'created_at', 'read_at'] as const;

/** A recipient's notifications, newest first. */
export async function listNotifications(
  db: Executor,
  recipient: string,
  filter: { unread: boolean; page: number; pageSize: number },
): Promise<{ items: NotificationView[]; total: number }> {
  let q = db.selectFrom('notifications').where('recipient', '=', recipient);
  if (filter.unread) q = q.where('read_at', 'is', null);
  const [rows, count] = await Promise.all([
    q.select(viewColumns).orderBy('id', 'desc').limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize).execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toView), total: Number(count.n) };
}

export async function unreadCount(db: Executor, recipient: string): Promise<number> {
  const row = await db.selectFrom('notifications').select((eb) => eb.fn.countAll<number>().as('n')).where('recipient', '=', recipient).where('read_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Marks one of the recipient's notifications read (idempotent); undefined if it is not theirs. */
export async function markRead(db: Executor, recipient: string, id: number, at: Date): Promise<NotificationView | undefined> {
  await db.updateTable('notifications').set({ read_at: at }).where('id', '=', id).where('recipient', '=', recipient).where('read_at', 'is', null).execute();
  const row = await db.selectFrom('notifications').select(viewColumns).where('id', '=', id).where('recipient', '=', recipient).executeTakeFirst();
  return row ? toView(row) : undefined;
}

/** Marks all of the recipient's notifications read; returns how many were unread. */
export async function markAllRead(db: Executor, recipient: string, at: Date): Promise<number> {
  const result = await db.updateTable('notifications').set({ read_at: at }).where('recipient', '=', recipient).where('read_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Pending outbox rows due at `now`, oldest first. */
export async function dueNotifications(db: Executor, now: Date, limit: number): Promise<OutboxNotification[]> {
  const rows = await db
    .selectFrom('notifications')
    .select([...viewColumns, 'recipient', 'audience', 'attempts', 'delivered_channels'])
    .where('delivery_state', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...toView(r), recipient: r.recipient, audience: r.audience, attempts: r.attempts, deliveredChannels: r.delivered_channels }));
}

/** How many of a recipient's notifications went out since `since` (per-recipient throttling). */
export async function deliveredSince(db: Executor, recipient: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('recipient', '=', recipient)
    .where('delivery_state', '=', 'delivered')
    .where('delivered_at', '>=', since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The outcome of one delivery attempt of one row. */
export type DeliveryOutcome =
  | { readonly state: 'delivered'; readonly channels: readonly string[]; readonly at: Date }
  | { readonly state: 'retry'; readonly channels: readonly string[]; readonly attempts: number; readonly nextAttemptAt: Date; readonly error: string | null }
  | { readonly state: 'failed'; readonly channels: readonly string[]; readonly attempts: number; readonly error: string }
  | { readonly state: 'postponed'; readonly nextAttemptAt: Date };

export async function recordDelivery(db: Executor, id: number, outcome: DeliveryOutcome): Promise<void> {
  const q = db.updateTable('notifications').where('id', '=', id);
  switch (outcome.state) {
    case 'delivered':
      await q.set({ delivery_state: 'delivered', delivered_at: outcome.at, delivered_channels: JSON.stringify(outcome.channels), last_error: null }).execute();
      return;
    case 'retry':
      await q.set({ attempts: outcome.attempts, next_attempt_at: outcome.nextAttemptAt, delivered_channels: JSON.stringify(outcome.channels), last_error: outcome.error }).execute();
      return;
    case 'failed':
      await q.set({ delivery_state: 'failed', attempts: outcome.attempts, delivered_channels: JSON.stringify(outcome.channels), last_error: outcome.error }).execute();
      return;
    case 'postponed':
      await q.set({ next_attempt_at: outcome.nextAttemptAt }).execute();
      return;
  }
}
