// CI: also on PGlite + the embedded broker (group commits on PGlite's single connection (the serialised dialect)).
import pino from 'pino';
import t from 'tap';
import { LedgerWriter, type BillingRecord } from '../../src/actors/ledger-writer.ts';
import { findBalanceMismatches } from '../../src/db/ledger.repository.ts';
import { initialBillingState } from '../../src/domain/tariff.ts';
import { RuntimeFenceError } from '../../src/db/runtime-lock.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { smallCampus } from '../helpers/small-campus.ts';

/**
 * One bad item never blocks the rest (issue 9): a NUL in a command's text and a charge for a
 * dormitory that does not exist are refused by the database; the writer splits the batch,
 * commits the good items, dead-letters the bad ones with an alarm, and keeps committing.
 * Runs on PGlite, and on PostgreSQL when DATABASE_URL is set.
 */
const at = Date.parse('2026-10-01T00:00:00Z');


function charge(dormitoryId: string, meterId: string, amount: number, register: number): BillingRecord {
  return {
    meterId,
    dormitoryId,
    purse: 'electricity',
    pending: { amount, usage: 100, freeUsed: 0, fromRegister: register - 100, toRegister: register, firstAt: at, lastAt: at, quotaGranted: 0, parts: {} },
    cursor: { register, readAt: at, billing: initialBillingState(at, null, 480) },
  };
}

function command(id: string, reason: string) {
  return { id, dormitoryId: 'd1', meterId: 'm-d1', target: 'socket', action: 'cut' as const, reason, state: 'requested' as const, requestedBy: 'system', requestedAt: at };
}

function alarm(message: string) {
  return { dormitoryId: 'd2', meterId: null, gatewayId: null, circuit: null, kind: 'test_alarm', severity: 'warning' as const, message, evidence: [], raisedAt: at };
}

t.test('a poison item is dead-lettered with an alarm; charges, alarms, commands and audit around it commit', async (t) => {
  const { db } = await smallCampus(t, ['d1', 'd2']);
  const metrics = new Metrics();
  const writer = new LedgerWriter({ db, log: pino({ level: 'silent' }), metrics, flushMs: 60_000, batchSize: 100_000 });
  writer.addBilling(charge('d1', 'm-d1', 50, 1100));
  writer.addCommand(command('cmd-good', 'arrears'));
  writer.addCommand(command('cmd-nul', 'gateway said \u0000 nothing')); // PostgreSQL text cannot hold a NUL
  writer.addAlarm(alarm('before'));
  writer.addBilling(charge('ghost', 'm-ghost', 70, 900)); // no such dormitory: a foreign-key violation
  writer.addAudit({ operator: 'admin', action: 'test.audit', targetType: 'dormitory', targetId: 'd2' });
  writer.addBilling(charge('d2', 'm-d2', 30, 2100));
  await writer.flushNow();

  const entries = await db.selectFrom('ledger_entries').select(['dormitory_id', 'amount']).orderBy('id').execute();
  t.same(entries.map((e) => [e.dormitory_id, e.amount]), [['d1', -50], ['d2', -30]], 'both good charges committed, the ghost charge not');
  t.same((await findBalanceMismatches(db)).mismatches, [], 'balances agree with the ledger');
  const cursors = await db.selectFrom('billing_cursors').select(['meter_id', 'register']).orderBy('meter_id').execute();
  t.same(cursors.map((c) => [c.meter_id, c.register]), [['m-d1', 1100], ['m-d2', 2100]], 'good cursors advanced with their charges');
  t.same((await db.selectFrom('commands').select('id').execute()).map((c) => c.id), ['cmd-good'], 'the good command row is written');
  t.equal((await db.selectFrom('alarms').select('id').where('kind', '=', 'test_alarm').execute()).length, 1, 'the good alarm is written');
  t.equal((await db.selectFrom('audit_log').select('id').where('action', '=', 'test.audit').execute()).length, 1, 'the audit record is written');

  const dead = await db.selectFrom('ledger_dead_letters').selectAll().orderBy('id').execute();
  t.same(dead.map((d) => d.kind), ['billing', 'command'], 'exactly the two bad items are dead-lettered (in commit order)');
  t.match(JSON.parse(dead[0]!.item), { dormitoryId: 'ghost', pending: { amount: 70 } }, 'the ghost charge is kept whole');
  t.match(JSON.parse(dead[1]!.item), { id: 'cmd-nul', reason: 'gateway said \u0000 nothing' }, 'the item is kept whole, NUL included (as JSON text)');
  t.ok(dead[1]!.error.length > 0 && !dead[1]!.error.includes('\u0000'), 'its error is kept, control characters escaped');
  const deadAlarms = await db.selectFrom('alarms').select(['severity', 'message']).where('kind', '=', 'ledger_dead_letter').execute();
  t.equal(deadAlarms.length, 2, 'one alarm per dead letter');
  t.equal(deadAlarms[0]!.severity, 'critical', 'a dead letter is a critical alarm');
  t.equal(writer.status.deadLetters, 2, 'the writer counts its dead letters');
  t.equal(writer.status.waitingForDatabase, false, 'a poison item is not a database outage');

  // The writer keeps going: the next batch commits as usual.
  writer.addBilling(charge('d1', 'm-d1', 5, 1200));
  writer.addAlarm(alarm('after'));
  await writer.flushNow();
  t.equal((await db.selectFrom('ledger_entries').select('id').execute()).length, 3, 'later charges commit');
  t.equal((await db.selectFrom('alarms').select('id').where('kind', '=', 'test_alarm').execute()).length, 2, 'later alarms commit');
  t.equal(writer.pending, 0, 'nothing left queued');
  t.same((await writer.close()).unwritten, [], 'a clean stop leaves nothing unwritten');
});

t.test('an injected poison item on its own, in a batch of hundreds, costs only itself', async (t) => {
  const { db } = await smallCampus(t, ['d1', 'd2']);
  const writer = new LedgerWriter({ db, log: pino({ level: 'silent' }), metrics: new Metrics(), flushMs: 60_000, batchSize: 100_000 });
  for (let i = 0; i < 300; i++) {
    if (i === 217) writer.addEvent({ dormitoryId: 'd1', meterId: null, gatewayId: null, kind: 'poison', fromState: null, toState: null, details: { text: 'x\u0000y' }, occurredAt: at });
    writer.addAudit({ operator: 'system', action: `test.${i}`, targetType: 'dormitory', targetId: 'd1' });
  }
  await writer.flushNow();
  t.equal((await db.selectFrom('audit_log').select('id').where('action', 'like', 'test.%').execute()).length, 300, 'all 300 audit records committed');
  t.same((await db.selectFrom('ledger_dead_letters').select('kind').execute()).map((d) => d.kind), ['event'], 'only the poison event is parked');
  await writer.close();
});

t.test('a database that is away: nothing is dead-lettered, the batch waits, close reports exactly what it could not write', async (t) => {
  const database = await smallCampus(t, ['d1', 'd2']);
  const writer = new LedgerWriter({ db: database.db, log: pino({ level: 'silent' }), metrics: new Metrics(), flushMs: 60_000, batchSize: 100_000, closeTimeoutMs: 300 });
  writer.addBilling(charge('d1', 'm-d1', 50, 1100));
  writer.addAudit({ operator: 'admin', action: 'test.away', targetType: 'dormitory', targetId: 'd1' });
  await database.db.destroy(); // the connection is gone for good
  await t.rejects(writer.flushNow(), /batch kept for retry/, 'flushNow reports the failure');
  t.equal(writer.status.waitingForDatabase, true, 'the writer says it waits for the database');
  t.equal(writer.status.deadLetters, 0, 'an outage is not a poison item');
  t.equal(writer.pending, 2, 'both items still queued, in order');
  const report = await writer.close();
  t.same(report.unwritten.map((i) => i.kind), ['billing', 'audit'], 'close lists exactly the unwritten items');
});

t.test('while the runtime fence refuses, nothing is written or dead-lettered; the same items commit once it passes', async (t) => {
  const { db } = await smallCampus(t, ['d1', 'd2']);
  let fenced = true;
  let checks = 0;
  const fence = async () => {
    checks++;
    if (fenced) throw new RuntimeFenceError('test: another server holds the runtime lock');
  };
  const writer = new LedgerWriter({ db, log: pino({ level: 'silent' }), metrics: new Metrics(), flushMs: 60_000, batchSize: 100_000, fence });
  writer.addBilling(charge('d1', 'm-d1', 50, 1100));
  writer.addCommand(command('cmd-fenced', 'arrears'));
  writer.addAlarm(alarm('fenced'));
  await t.rejects(writer.flushNow(), /batch kept for retry \(not written: test: another server holds the runtime lock/, 'the commit is refused and the batch kept');
  t.equal(checks, 1, 'the fence was checked once: a refusal is not a bad item to isolate');
  t.same(await db.selectFrom('ledger_entries').select('id').execute(), [], 'no charge written');
  t.same(await db.selectFrom('billing_cursors').select('meter_id').where('register', '=', 1100).execute(), [], 'no cursor moved');
  t.same(await db.selectFrom('commands').select('id').execute(), [], 'no command written');
  t.same(await db.selectFrom('ledger_dead_letters').select('id').execute(), [], 'nothing dead-lettered');

  fenced = false;
  await writer.flushNow();
  const entries = await db.selectFrom('ledger_entries').select(['dormitory_id', 'amount']).execute();
  t.same(entries.map((e) => [e.dormitory_id, e.amount]), [['d1', -50]], 'the charge is written once the fence passes');
  t.same((await db.selectFrom('commands').select('id').execute()).map((c) => c.id), ['cmd-fenced'], 'and the command');
  t.same((await findBalanceMismatches(db)).mismatches, [], 'balances agree with the ledger');
  await writer.close();
});
