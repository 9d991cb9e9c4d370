import pino from 'pino';
import t from 'tap';
import { LedgerWriter } from '../../src/actors/ledger-writer.ts';
import { chunks } from '../../src/db/chunks.ts';
import { findBalanceMismatches } from '../../src/db/ledger.repository.ts';
import { initialBillingState } from '../../src/domain/tariff.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

t.test('one group commit of 6,000 meters stays under PostgreSQL\'s 65,535 bind parameters', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const { db } = database;
  const n = 6000;
  await db.insertInto('campuses').values({ id: 'c', name: 'C' }).execute();
  await db.insertInto('buildings').values({ id: 'b', campus_id: 'c', name: 'B' }).execute();
  await db.insertInto('gateways').values({ id: 'g', campus_id: 'c', protocol: 'mqtt', address: 'g' }).execute();
  const ids = Array.from({ length: n }, (_, i) => `d${i}`);
  for (const slice of chunks(ids)) {
    await db.insertInto('dormitories').values(slice.map((id, i) => ({ id, building_id: 'b', floor: 1, room: id + i }))).execute();
    await db.insertInto('accounts').values(slice.flatMap((id) => [{ dormitory_id: id, purse: 'electricity' as const }, { dormitory_id: id, purse: 'water' as const }])).execute();
    await db.insertInto('meters').values(slice.map((id) => ({ id: `m-${id}`, dormitory_id: id, kind: 'electric' as const, profile: 'campus-1in3out', gateway_id: 'g', unit_address: id }))).execute();
  }
  const metrics = new Metrics();
  const writer = new LedgerWriter({ db, log: pino({ level: 'silent' }), metrics, flushMs: 60_000, batchSize: 100_000, maxCommitItems: 100_000 });
  const at = Date.parse('2026-10-01T00:00:00Z');
  for (const id of ids) {
    writer.addBilling({
      meterId: `m-${id}`,
      dormitoryId: id,
      purse: 'electricity',
      pending: { amount: 7, usage: 120, freeUsed: 0, fromRegister: 1000, toRegister: 1120, firstAt: at, lastAt: at, quotaGranted: 0, parts: {} },
      cursor: { register: 1120, readAt: at, billing: initialBillingState(at, null, 480) },
    });
    writer.addInterval({ meterId: `m-${id}`, channel: 'main', intervalStart: at, usage: 120, maxPowerW: 400, registerEnd: 1120 });
  }
  await writer.flushNow();
  const entries = await db.selectFrom('ledger_entries').select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('amount').as('s')]).executeTakeFirstOrThrow();
  t.equal(Number(entries.n), n, 'one consumption entry per meter');
  t.equal(Number(entries.s), -7 * n);
  const cursors = await db.selectFrom('billing_cursors').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(cursors.n), n, 'every cursor written in the same commit');
  t.same((await findBalanceMismatches(db)).mismatches, []);
  await writer.close();
});
