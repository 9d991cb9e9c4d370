import ExcelJS from 'exceljs';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { getDormitory, quietRules, startLiveApp, waitFor } from '../helpers/live-app.ts';

// The demo campus is on UTC+8: its 2026-03-11 begins at 2026-03-10T16:00Z. The test starts at
// 04:00 local on 2026-03-10, so the rooms can burn through their free quota before midnight.
const DAY1 = '2026-03-10';
const DAY2 = '2026-03-11';
const MIDNIGHT = Date.UTC(2026, 2, 10, 16, 0);
const START = MIDNIGHT - 20 * 3_600_000;
const DAY_MS = 86_400_000;

type Purse = 'electricity' | 'water';
const COLUMNS = ['opening', 'recharges', 'charges', 'refunds', 'adjustments', 'settlements', 'closing'] as const;
type Sums = Record<(typeof COLUMNS)[number], number>;
interface Line extends Sums {
  campus: string;
  building: string;
  purse: Purse;
  ledgerClosing: number;
  tiesOut: boolean;
}
interface Report {
  lines: Line[];
  channels: { building: string; purse: Purse; channel: string; amount: number; count: number }[];
  channelTotals: { channel: string; purse: Purse; amount: number; count: number }[];
  totals: (Sums & { purse: Purse; tiesOut: boolean })[];
  tiesOut: boolean;
}

t.test("the day's reconciliation ties out to the fen against an independent sum of the ledger's rows, on the campus's days", async (t) => {
  const clock = new SimulatedClock(START, 1);
  const test = await startLiveApp(t, { REFUND_APPROVAL_THRESHOLD_FEN: '100000' }, { clock });
  const { app } = test;
  const finance = await test.as('finance');
  const post = async (url: string, payload: object) => {
    const response = await app.http.inject({ method: 'POST', url, headers: finance, payload });
    t.ok([200, 201].includes(response.statusCode), `POST ${url} ${JSON.stringify(payload)} is applied (${response.statusCode} ${response.statusCode >= 300 ? response.body : ''})`);
  };
  const speed = async (value: number) => t.equal((await app.http.inject({ method: 'PUT', url: '/api/simulator/clock', headers: test.admin, payload: { speed: value } })).statusCode, 200, `the clock runs at ${value}x`);
  await quietRules(test);
  const charged = async (room: string, from: number) => {
    await app.runtime.flushBilling([room]);
    const row = await test.database.db.selectFrom('ledger_entries').select('id').where('dormitory_id', '=', room).where('kind', '=', 'consumption_charge').where('amount', '<', 0).where('occurred_at', '>=', new Date(from)).executeTakeFirst();
    return row !== undefined;
  };
  await waitFor('A-105 and B-101 online', async () => (await getDormitory(test, 'A-105')).online && (await getDormitory(test, 'B-101')).online);
  // Consumption through the real meters: a heater and a kettle in A-105 and in B-101, fast
  // enough to use up the month's free 10 kWh and be charged money on day 1.
  for (const room of ['A-105', 'B-101']) {
    for (const kind of ['heater', 'kettle']) {
      t.equal((await app.http.inject({ method: 'POST', url: `/api/simulator/dormitories/${room}/appliances`, headers: test.admin, payload: { kind, circuit: kind === 'heater' ? 'socket' : 'lighting' } })).statusCode, 201, `a ${kind} runs in ${room}`);
    }
  }
  // Six hours pass at once: the meters' registers integrate them, billing prices the gap.
  clock.jumpTo(START + 6 * 3_600_000);
  await waitFor('A-105 and B-101 charged money on day 1', async () => (await charged('A-105', START)) && (await charged('B-101', START)), 30_000);

  // Before local midnight: day 1.
  t.ok(clock.now() < MIDNIGHT - 3_600_000, `still day 1 on the campus (${new Date(clock.now()).toISOString()})`);
  await post('/api/dormitories/A-101/recharges', { amount: 1_000, method: 'cash', reference: 'rc-1' });
  await post('/api/dormitories/A-105/recharges', { amount: 700, method: 'campus_card', reference: 'rc-2', purse: 'water' });
  await post('/api/dormitories/B-101/recharges', { amount: 2_500, method: 'online', reference: 'rc-3' });
  await post('/api/dormitories/A-105/refunds', { amount: 200, reason: 'overpaid', reference: 'rf-1' });
  await post('/api/dormitories/B-101/adjustments', { amount: -150, reason: 'misread', reference: 'ad-1', purse: 'water' });
  await waitFor('A-105 has consumed on day 1', async () => {
    await app.runtime.flushBilling(['A-105']);
    return test.database.db.selectFrom('ledger_entries').select('id').where('dormitory_id', '=', 'A-105').where('kind', '=', 'consumption_charge').executeTakeFirst();
  });

  // The campus's day turns (UTC is still on 2026-03-10): day 2.
  clock.jumpTo(MIDNIGHT + 60_000);
  await post('/api/dormitories/A-101/recharges', { amount: 300, method: 'cash', reference: 'rc-4' });
  await post('/api/dormitories/A-102/recharges', { amount: 450, method: 'card', reference: 'rc-5' });
  await post('/api/dormitories/A-101/adjustments', { amount: 90, reason: 'goodwill', reference: 'ad-2' });
  await post('/api/dormitories/B-101/refunds', { amount: 400, reason: 'leaving', reference: 'rf-2' });
  await waitFor('consumption charged on day 2', async () => (await charged('A-105', MIDNIGHT)) || (await charged('B-101', MIDNIGHT)));
  await speed(0);
  await app.runtime.flushBilling(['A-101', 'A-102', 'A-105', 'B-101']);

  // The independent sum: every ledger row, bucketed here by the campus's day.
  const rows = await test.database.db
    .selectFrom('ledger_entries as l')
    .innerJoin('dormitories as d', 'd.id', 'l.dormitory_id')
    .select(['d.building_id', 'l.purse', 'l.kind', 'l.amount', 'l.occurred_at', 'l.details'])
    .execute();
  const expected = (day: string) => {
    const from = Date.parse(`${day}T00:00:00+08:00`);
    const to = from + DAY_MS;
    const lines = new Map<string, Sums & { building: string; purse: Purse }>();
    const channels = new Map<string, number>();
    for (const r of rows) {
      const at = new Date(r.occurred_at).getTime();
      const key = `${r.building_id}/${r.purse}`;
      const line = lines.get(key) ?? { building: r.building_id, purse: r.purse, opening: 0, recharges: 0, charges: 0, refunds: 0, adjustments: 0, settlements: 0, closing: 0 };
      lines.set(key, line);
      if (at >= to) continue;
      line.closing += r.amount;
      if (at < from) {
        line.opening += r.amount;
        continue;
      }
      if (r.kind === 'recharge') {
        line.recharges += r.amount;
        const channel = `${r.purse}/${String(r.details.method)}`;
        channels.set(channel, (channels.get(channel) ?? 0) + r.amount);
      } else if (r.kind === 'consumption_charge' || r.kind === 'quota_grant') line.charges -= r.amount;
      else if (r.kind === 'refund') line.refunds -= r.amount;
      else if (r.kind === 'adjustment') line.adjustments += r.amount;
      else line.settlements += r.amount;
    }
    return { lines: [...lines.values()].filter((l) => COLUMNS.some((c) => l[c] !== 0)), channels };
  };
  const report = async (day: string): Promise<Report> => {
    const response = await app.http.inject({ method: 'GET', url: `/api/reports/reconciliation?date=${day}`, headers: finance });
    t.equal(response.statusCode, 200, `the report of ${day} is served`);
    return response.json<Report>();
  };

  const [one, two] = [await report(DAY1), await report(DAY2)];
  for (const [day, got] of [[DAY1, one], [DAY2, two]] as const) {
    const want = expected(day);
    const pick = (l: Sums & { building: string; purse: Purse }) => [l.building, l.purse, ...COLUMNS.map((c) => l[c])];
    t.same(got.lines.filter((l) => COLUMNS.some((c) => l[c] !== 0)).map(pick).sort(), want.lines.map(pick).sort(), `${day}: every building's purse equals the independent sum of the ledger rows, to the fen`);
    t.ok(got.tiesOut, `${day}: the report ties out`);
    for (const l of got.lines) t.equal(l.closing, l.opening + l.recharges - l.charges - l.refunds + l.adjustments + l.settlements, `${day} ${l.building} ${l.purse}: opening + movements = closing`);
    const channels = new Map(got.channelTotals.map((c) => [`${c.purse}/${c.channel}`, c.amount]));
    t.same(Object.fromEntries(channels), Object.fromEntries(want.channels), `${day}: the day's totals by channel are the independent sums`);
  }
  t.ok(one.lines.some((l) => l.charges > 0) && two.lines.some((l) => l.charges > 0), 'both days have consumption charged by the meters');
  t.match(Object.fromEntries(one.channelTotals.map((c) => [`${c.purse}/${c.channel}`, c.amount])), { 'electricity/cash': 1_000, 'water/campus_card': 700, 'electricity/online': 2_500 }, "day 1's channels hold its recharges");
  t.match(Object.fromEntries(two.channelTotals.map((c) => [`${c.purse}/${c.channel}`, c.amount])), { 'electricity/cash': 300, 'electricity/card': 450 }, 'day 2 (after local midnight, still 2026-03-10 in UTC) holds the later ones');
  for (const l of two.lines) {
    const before = one.lines.find((o) => o.building === l.building && o.purse === l.purse);
    t.equal(l.opening, before?.closing ?? 0, `${l.building} ${l.purse}: day 2 opens at day 1's close`);
  }
  const empty = await report('2026-03-09');
  t.same(empty.lines, [], 'a day before any money has no lines');

  // The exports carry the same numbers.
  const csv = await app.http.inject({ method: 'GET', url: `/api/reports/reconciliation?date=${DAY1}&format=csv`, headers: finance });
  t.equal(csv.statusCode, 200, 'the CSV is served');
  t.match(csv.headers['content-type'], /^text\/csv/, 'as text/csv');
  const [header, ...records] = csv.body.trimEnd().split('\r\n').map((line) => line.split(','));
  const col = (name: string) => header!.indexOf(name);
  const csvTotals = records.filter((r) => r[col('section')] === 'balance_total').map((r) => [r[col('purse')], Number(r[col('closing_fen')]), Number(r[col('recharges_fen')])]);
  t.same(csvTotals, one.totals.map((x) => [x.purse, x.closing, x.recharges]), "the CSV's purse totals are the JSON's");
  t.equal(records.filter((r) => r[col('section')] === 'balance').length, one.lines.length, 'one CSV balance row per JSON line');

  const xlsx = await app.http.inject({ method: 'GET', url: `/api/reports/reconciliation?date=${DAY1}&format=xlsx`, headers: finance });
  t.equal(xlsx.statusCode, 200, 'the XLSX is served');
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
  const sheet = workbook.worksheets[0]!;
  const sheetHeader = (sheet.getRow(1).values as unknown[]).slice(1);
  t.same(sheetHeader, header, 'the XLSX has the CSV columns');
  const xlsxTotals: unknown[][] = [];
  sheet.eachRow((row, n) => {
    const v = (row.values as unknown[]).slice(1);
    if (n > 1 && v[sheetHeader.indexOf('section')] === 'balance_total') xlsxTotals.push([v[sheetHeader.indexOf('purse')], v[sheetHeader.indexOf('closing_fen')], v[sheetHeader.indexOf('recharges_fen')]]);
  });
  t.same(xlsxTotals, csvTotals, "the XLSX's purse totals are the JSON's");

  const bad = await app.http.inject({ method: 'GET', url: '/api/reports/reconciliation?date=2026-02-30', headers: finance });
  t.equal(bad.statusCode, 400, 'a day that does not exist is a 400');
  t.equal(bad.json().error.field, 'date', 'naming the date');
  const badExport = await app.http.inject({ method: 'GET', url: '/api/reports/reconciliation?date=2026-02-30&format=csv', headers: finance });
  t.same([badExport.statusCode, badExport.json().error?.field], [400, 'date'], 'an export of a day that does not exist is a 400 before any byte');
  t.equal((await app.http.inject({ method: 'GET', url: `/api/reports/reconciliation?date=${DAY1}`, headers: await test.as('manager') })).statusCode, 403, 'a manager does not read the reconciliation');
});
