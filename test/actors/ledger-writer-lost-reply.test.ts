import pino from 'pino';
import t from 'tap';
import { LedgerWriter } from '../../src/actors/ledger-writer.ts';
import { findBalanceMismatches } from '../../src/db/ledger.repository.ts';
import { initialBillingState } from '../../src/domain/tariff.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { losingReplies } from '../helpers/losing-replies.ts';
import { smallCampus } from '../helpers/small-campus.ts';

/**
 * A group commit that reached the database but whose reply was lost (the connection dropped
 * after COMMIT): the writer cannot tell it from a commit that never happened, keeps the batch and
 * commits it again. An outside attack (a proxy cutting the connection 80 ms after a ledger
 * COMMIT went through) found 9 meters charged twice for the same register range. Here the
 * database handle commits the transaction and then throws the error a dropped connection gives.
 */

t.test('a commit whose reply was lost is not charged again when the writer retries it', async (t) => {
  const rooms = Array.from({ length: 20 }, (_, i) => `d${i}`);
  const { db } = await smallCampus(t, rooms);

  const faulty = losingReplies(db);
  const writer = new LedgerWriter({ db: faulty.db, log: pino({ level: 'silent' }), metrics: new Metrics(), flushMs: 60_000, batchSize: 100_000, closeTimeoutMs: 30_000 });
  const at = Date.parse('2026-10-01T00:00:00Z');
  const bill = (round: number) => {
    for (const id of rooms) {
      writer.addBilling({
        meterId: `m-${id}`,
        dormitoryId: id,
        purse: 'electricity',
        pending: { amount: 7, usage: 120, freeUsed: 0, fromRegister: 1000 + 120 * round, toRegister: 1120 + 120 * round, firstAt: at + round, lastAt: at + round, quotaGranted: 5, parts: {} },
        cursor: { register: 1120 + 120 * round, readAt: at + round, billing: initialBillingState(at, null, 480) },
      });
    }
  };

  bill(0);
  // The rows of the batch that move no money, each of which a retry used to write again.
  writer.addAlarm({ dormitoryId: 'd0', meterId: 'm-d0', gatewayId: null, circuit: 'socket', kind: 'malignant_load', severity: 'critical', message: 'a kettle', evidence: [], raisedAt: at });
  writer.addEvent({ dormitoryId: 'd0', meterId: 'm-d0', gatewayId: null, kind: 'supply_cut', fromState: 'on', toState: 'off', details: {}, occurredAt: at });
  writer.addAudit({ operator: 'system', action: 'arrears.cut', targetType: 'dormitory', targetId: 'd0' });
  writer.addInterval({ meterId: 'm-d0', channel: 'main', intervalStart: at, usage: 120, maxPowerW: 900, registerEnd: 1120 });
  faulty.arm(1);
  await t.rejects(writer.flushNow(), /batch kept for retry/, 'the writer saw a dropped connection and kept the batch');
  t.equal(faulty.lost(), 1, 'the commit went through, its reply was lost');
  bill(1); // more charges join the kept batch before the retry
  await writer.close(); // retries until written

  const charges = await db.selectFrom('ledger_entries').select(['meter_id', 'amount', 'details']).where('kind', '=', 'consumption_charge').execute();
  const ranges = charges.map((c) => `${c.meter_id}:${(c.details as { fromRegister: number }).fromRegister}`).sort();
  t.equal(charges.length, 40, 'two charges a meter: the first round once, the second once');
  t.same(ranges, [...new Set(ranges)], 'no register range charged twice');
  const grants = await db.selectFrom('ledger_entries').select('id').where('kind', '=', 'quota_grant').execute();
  t.equal(grants.length, 40, 'each quota grant once too');
  t.equal(writer.commitsAlreadyWritten, 1, 'the retry found its first attempt committed (its key taken) and wrote nothing again');
  t.equal(writer.postingsAlreadyWritten, 0, 'no posting needed the second line (posting keys)');
  t.equal((await db.selectFrom('alarms').select('id').where('kind', '=', 'malignant_load').execute()).length, 1, 'the alarm once');
  t.equal((await db.selectFrom('events').select('id').where('kind', '=', 'supply_cut').execute()).length, 1, 'the event once');
  t.equal((await db.selectFrom('audit_log').select('id').where('action', '=', 'arrears.cut').execute()).length, 1, 'the audit row once');
  const interval = await db.selectFrom('interval_readings').select('usage').where('meter_id', '=', 'm-d0').executeTakeFirstOrThrow();
  t.equal(Number(interval.usage), 120, 'the interval sum once (a retry added it again)');
  const balances = await db.selectFrom('accounts').select(['dormitory_id', 'balance']).where('purse', '=', 'electricity').execute();
  t.ok(balances.every((b) => Number(b.balance) === -14), 'every balance -14: two charges of 7, not three');
  t.same((await findBalanceMismatches(db)).mismatches, [], 'balances agree with the ledger');
  const cursors = await db.selectFrom('billing_cursors').select(['meter_id', 'register']).execute();
  t.ok(cursors.length === 20 && cursors.every((c) => Number(c.register) === 1240), 'every cursor at the second round');
});

t.test('the ledger itself refuses a second entry with the same posting key', async (t) => {
  const { db } = await smallCampus(t, ['d']);
  const account = await db.selectFrom('accounts').select('id').where('dormitory_id', '=', 'd').where('purse', '=', 'electricity').executeTakeFirstOrThrow();
  const entry = { account_id: account.id, dormitory_id: 'd', purse: 'electricity' as const, kind: 'consumption_charge' as const, amount: -1, usage: 1, balance_after: -1, meter_id: null, reference: null, operator: null, occurred_at: new Date(), details: '{}', posting_key: 'k:charge' };
  await db.insertInto('ledger_entries').values(entry).execute();
  await t.rejects(db.insertInto('ledger_entries').values(entry).execute(), 'a unique index holds the key');
  await db.insertInto('ledger_entries').values({ ...entry, posting_key: null }).execute();
  await db.insertInto('ledger_entries').values({ ...entry, posting_key: null }).execute();
  t.pass('entries without a key (recharges, settlements) are not limited');
});
