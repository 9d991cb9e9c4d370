import pino from 'pino';
import t from 'tap';
import { LedgerWriter } from '../../src/actors/ledger-writer.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

/**
 * The outbox (issue 11, docs/notifications.md): the ledger writer's group commit writes a
 * notification for each announced alarm and event in the same transaction, one row per
 * resident student, and for cut-offs and safety trips per staff operator too.
 * Runs on PGlite, and on PostgreSQL when DATABASE_URL is set.
 */
const at = Date.parse('2026-10-01T00:00:00Z');

t.test('warnings, cut-off, restore and a safety trip are written to the outbox with their event', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  await db.insertInto('campuses').values({ id: 'c', name: 'C' }).execute();
  await db.insertInto('buildings').values({ id: 'b', campus_id: 'c', name: 'B' }).execute();
  for (const id of ['d1', 'd2']) await db.insertInto('dormitories').values({ id, building_id: 'b', floor: 1, room: id }).execute();
  for (const s of ['S1', 'S2', 'S3', 'S4']) await db.insertInto('occupants').values({ student_number: s, name: s }).execute();
  const stay = (student: string, dormitory: string, toDay: string | null) => ({
    student_number: student,
    dormitory_id: dormitory,
    from_day: '2026-09-01',
    to_day: toDay,
    checked_in_at: new Date(at),
    checked_in_by: 'admin',
    checked_out_at: toDay ? new Date(at) : null,
    checked_out_by: toDay ? 'admin' : null,
    end_reason: toDay ? ('check_out' as const) : null,
  });
  await db.insertInto('occupancies').values([stay('S1', 'd1', null), stay('S2', 'd1', null), stay('S3', 'd1', '2026-09-20'), stay('S4', 'd2', null)]).execute();
  const operator = (username: string, role: 'admin' | 'manager' | 'finance', disabled = false) => ({ username, password_hash: 'x', role, disabled });
  await db.insertInto('operators').values([operator('boss', 'admin'), operator('warden', 'manager'), operator('cashier', 'finance'), operator('gone', 'manager', true)]).execute();

  const writer = new LedgerWriter({ db, log: pino({ level: 'silent' }), metrics: new Metrics(), flushMs: 60_000, batchSize: 100_000 });
  const event = (kind: string, fromState: string | null, toState: string | null, details: Record<string, unknown>) =>
    writer.addEvent({ dormitoryId: 'd1', meterId: null, gatewayId: null, kind, fromState, toState, details, occurredAt: at });
  event('balance_warning', null, null, { purse: 'electricity', level: 1, balance: 1900 });
  event('balance_warning', null, null, { purse: 'electricity', level: 2, balance: 400 });
  event('purse_standing', 'overdraft', 'cut', { purse: 'electricity', balance: -10 });
  event('purse_standing', 'cut', 'normal', { purse: 'electricity', balance: 5000 });
  event('dormitory_state', 'normal', 'cut_arrears', {}); // announces nothing
  writer.addAlarm({ dormitoryId: 'd1', meterId: 'm', gatewayId: null, circuit: 'socket', kind: 'malignant_load', severity: 'critical', message: 'resistive load', evidence: [{ at, powerW: 1500, powerFactor: 1, signature: 'kettle' }], raisedAt: at });
  writer.addAlarm({ dormitoryId: 'd1', meterId: 'm', gatewayId: null, circuit: null, kind: 'meter_offline', severity: 'warning', message: 'offline', evidence: [], raisedAt: at });
  await writer.flushNow();
  await writer.close();

  const rows = await db.selectFrom('notifications').select(['recipient', 'audience', 'kind', 'details', 'delivery_state', 'message']).orderBy('id').execute();
  const byKind = (kind: string) => rows.filter((r) => r.kind === kind).map((r) => r.recipient).sort();
  t.same(byKind('low_balance'), ['S1', 'S1', 'S2', 'S2'], 'each warning level, to each resident (not the one who left, not another room)');
  t.same(byKind('arrears_cut'), ['S1', 'S2', 'boss', 'warden'], 'a cut-off: residents and enabled admins and managers');
  t.same(byKind('restored'), ['S1', 'S2'], 'a restore: residents');
  t.same(byKind('safety_trip'), ['S1', 'S2', 'boss', 'warden'], 'a safety trip: residents and staff');
  t.equal(rows.length, 14, 'nothing else');
  const trip = rows.find((r) => r.kind === 'safety_trip')!;
  t.same(trip.details, { rule: 'malignant_load', circuit: 'socket', signature: 'kettle' }, 'the trip names the rule and the appliance signature');
  t.match(trip.message, /kettle/);
  t.ok(rows.every((r) => r.delivery_state === 'pending'), 'all wait in the outbox');
  t.same(rows.filter((r) => r.recipient === 'boss').map((r) => r.audience), ['staff', 'staff']);
});
