import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import type { Bill } from '../../src/db/bill.repository.ts';
import { startLiveApp, waitFor } from '../helpers/live-app.ts';

/**
 * A month of simulated time on the running campus (real meters over Modbus and MQTT, billing,
 * the ledger) produces, at the local month end, a bill per dormitory purse whose every column
 * equals an independent sum of the ledger's rows. PGlite, and PostgreSQL + Mosquitto with
 * DATABASE_URL and MQTT_URL.
 */
const MARCH = Date.parse('2026-03-01T00:00:00+08:00');
const APRIL = Date.parse('2026-04-01T00:00:00+08:00');
const DAY = 86_400_000;

t.test('a month of simulated time: the bills written at the month end equal the ledger', async (t) => {
  const clock = new SimulatedClock(MARCH + 60_000, 1);
  const test = await startLiveApp(t, { REFUND_APPROVAL_THRESHOLD_FEN: '10000000' }, { clock, quietAtBoot: true });
  const { app } = test;
  const { db } = test.database;
  const finance = await test.as('finance');
  const post = async (url: string, payload: object) => {
    const response = await app.http.inject({ method: 'POST', url, headers: finance, payload });
    t.ok([200, 201].includes(response.statusCode), `POST ${url} is applied (${response.statusCode >= 300 ? response.body : response.statusCode})`);
  };
  const payer = await db.selectFrom('occupants').select('student_number').where('dormitory_id', '=', 'A-101').orderBy('student_number').executeTakeFirstOrThrow();
  await waitFor('A-101 billed once', async () => {
    await app.runtime.flushBilling(['A-101']);
    return db.selectFrom('billing_cursors').select('meter_id').where('meter_id', '=', 'M-A-101').executeTakeFirst();
  });
  for (const room of ['A-101', 'B-102']) t.equal((await app.http.inject({ method: 'POST', url: `/api/simulator/dormitories/${room}/appliances`, headers: test.admin, payload: { kind: 'heater', circuit: 'socket' } })).statusCode, 201, `a heater runs in ${room}`);
  // March in steps of three days: the meters bill each gap across the tariff's periods.
  for (let day = 3, step = 0; day <= 30; day += 3, step++) {
    clock.jumpTo(MARCH + day * DAY);
    // Billed up to the jump: A-101's meter read after it and its cursor posted (B-102, cut for
    // arrears without credit, stops moving: its register stands still, nothing to bill).
    await waitFor(`day ${day} billed`, async () => {
      await app.runtime.flushBilling(['A-101', 'B-102']);
      return db.selectFrom('billing_cursors').select('meter_id').where('meter_id', '=', 'M-A-101').where('read_at', '>=', new Date(MARCH + day * DAY)).executeTakeFirst();
    }, 30_000);
    if (step % 3 === 0) await post('/api/dormitories/A-101/recharges', { amount: 30_000 + step, method: 'cash', reference: `m-rc-${step}`, studentId: payer.student_number });
    if (step === 2) await post('/api/dormitories/B-102/recharges', { amount: 800, method: 'card', reference: 'm-rc-b', purse: 'water' });
    if (step === 4) await post('/api/dormitories/A-102/refunds', { amount: 150, reason: 'overpaid', reference: 'm-rf-1' });
    if (step === 5) await post('/api/dormitories/B-102/adjustments', { amount: -75, reason: 'misread', reference: 'm-ad-1' });
  }
  // The month ends on the campus clock; half an hour later (the grace) the bills are written.
  clock.jumpTo(APRIL - 10 * 60_000);
  // A busy machine may make a dormitory miss the flush's deadline: ask again.
  await waitFor('the last readings of March posted', () => app.runtime.flushBilling(['A-101', 'B-102']).then(() => true));
  clock.jumpTo(APRIL + 31 * 60_000);
  await waitFor('March billed', async () => db.selectFrom('bill_runs').select('month').where('month', '=', '2026-03').executeTakeFirst(), 60_000);
  t.equal((await app.http.inject({ method: 'PUT', url: '/api/simulator/clock', headers: test.admin, payload: { speed: 0 } })).statusCode, 200, 'time stops');

  const bills: Bill[] = [];
  let after: string | null = null;
  do {
    const response = await app.http.inject({ method: 'GET', url: `/api/reports/bills?month=2026-03&limit=50${after ? `&after=${after}` : ''}`, headers: finance });
    t.equal(response.statusCode, 200, 'a page of bills is served');
    const page: { rows: Bill[]; next: string | null } = response.json();
    bills.push(...page.rows);
    after = page.next;
  } while (after !== null);
  const rooms = await db.selectFrom('dormitories').select('id').execute();
  t.equal(bills.length, rooms.length * 2, 'a bill per dormitory and purse, read page by page');

  // The independent sum: every ledger row, bucketed here.
  const rows = await db.selectFrom('ledger_entries').select(['dormitory_id', 'purse', 'kind', 'amount', 'usage', 'occurred_at', 'details']).execute();
  let checked = 0;
  for (const bill of bills) {
    const mine = rows.filter((r) => r.dormitory_id === bill.dormitoryId && r.purse === bill.purse);
    const at = (r: (typeof rows)[number]) => new Date(r.occurred_at).getTime();
    const inMonth = mine.filter((r) => at(r) >= MARCH && at(r) < APRIL);
    const sum = (kind: string) => inMonth.filter((r) => r.kind === kind).reduce((s, r) => s + r.amount, 0);
    const expected = {
      opening: mine.filter((r) => at(r) < MARCH).reduce((s, r) => s + r.amount, 0),
      recharges: sum('recharge'),
      charges: -sum('consumption_charge'),
      refunds: -sum('refund'),
      adjustments: sum('adjustment'),
      settlements: sum('settlement'),
      closing: mine.filter((r) => at(r) < APRIL).reduce((s, r) => s + r.amount, 0),
      usage: inMonth.filter((r) => r.kind === 'consumption_charge').reduce((s, r) => s + (r.usage ?? 0), 0),
      quotaGranted: inMonth.filter((r) => r.kind === 'quota_grant').reduce((s, r) => s + (r.usage ?? 0), 0),
      quotaUsed: inMonth.filter((r) => r.kind === 'consumption_charge').reduce((s, r) => s + Number(r.details.freeUsed ?? 0), 0),
    };
    const got = Object.fromEntries(Object.keys(expected).map((k) => [k, bill[k as keyof typeof expected]]));
    if (JSON.stringify(got) !== JSON.stringify(expected)) t.same(got, expected, `${bill.dormitoryId} ${bill.purse}: the bill is the ledger's sums`);
    else checked++;
    const parts = inMonth.flatMap((r) => (r.kind === 'consumption_charge' ? ((r.details.parts ?? []) as { usage: number }[]) : []));
    if (bill.periods.reduce((s, p) => s + p.usage, 0) !== parts.reduce((s, p) => s + p.usage, 0)) t.fail(`${bill.dormitoryId} ${bill.purse}: the periods' usage is the charges' parts`);
    if (bill.shares.length > 0 && bill.shares.reduce((s, x) => s + x.consumptionShareFen, 0) !== -expected.charges) t.fail(`${bill.dormitoryId} ${bill.purse}: the occupants' consumption shares add up to the charges`);
  }
  t.equal(checked, bills.length, `every bill (${checked}) equals the independent sum of the ledger's rows, to the fen`);
  const a101 = bills.find((b) => b.dormitoryId === 'A-101' && b.purse === 'electricity')!;
  t.ok(a101.charges > 0 && a101.quotaGranted > 0 && a101.periods.length >= 2, `A-101 was charged (${a101.charges} fen) after its free quota (${a101.quotaGranted} Wh), over ${a101.periods.length} tariff periods`);
  t.equal(a101.recharges, 30_000 + 30_003 + 30_006 + 30_009, 'its recharges are in it');
  t.equal(bills.find((b) => b.dormitoryId === 'A-102' && b.purse === 'electricity')!.refunds, 150, "A-102's refund is in its bill");
  t.equal(a101.shares.reduce((s, x) => s + x.contributionsFen, 0), a101.recharges, "the payer's recharges are their contribution");
  t.ok(a101.shares.every((s) => s.days === 31), 'every occupant stayed all of March');
  const totals = (key: 'closing' | 'charges') => bills.reduce((s, b) => s + b[key], 0);

  // The exports carry the same bills.
  const csv = await app.http.inject({ method: 'GET', url: '/api/reports/bills?month=2026-03&format=csv', headers: finance });
  const [header, ...records] = csv.body.trimEnd().split('\r\n').map((line) => line.split(','));
  const billRows = records.filter((r) => r[0] === 'bill');
  t.equal(billRows.length, bills.length, 'one CSV bill row per bill');
  for (const key of ['closing', 'charges'] as const) t.equal(billRows.reduce((s, r) => s + Number(r[header!.indexOf(`${key}_fen`)]), 0), totals(key), `the CSV's ${key} total is the JSON's`);
  const again = await app.http.inject({ method: 'GET', url: '/api/reports/bills?month=2026-03&dormitory=A-101', headers: finance });
  t.same(again.json().rows.map((b: Bill) => b.purse), ['electricity', 'water'], 'one dormitory');
  const bad = await app.http.inject({ method: 'GET', url: '/api/reports/bills?month=2026-13', headers: finance });
  t.same([bad.statusCode, bad.json().error?.field], [400, 'month'], 'a month that does not exist names the month');
});
