import ExcelJS from 'exceljs';
import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { DEMO_CAMPUS_SHAPE } from '../../src/services/demo-campus.seed.ts';
import { createTestApp } from '../helpers/test-app.ts';

/**
 * Journals (issue 11): recharges, refunds, adjustments and the alarm history over a range of
 * local days, against an independent read of the ledger and the alarms. PGlite, and
 * PostgreSQL with DATABASE_URL.
 */
// The demo campus is on UTC+8: local 2026-03-11 begins at 2026-03-10T16:00Z, 2026-03-12 ends at 2026-03-12T16:00Z.
const FIRST = Date.UTC(2026, 2, 10, 16, 0);
const END = Date.UTC(2026, 2, 12, 16, 0);
const HOUR = 3_600_000;
const SHAPE = { ...DEMO_CAMPUS_SHAPE, floors: 2, roomsPerFloor: 2 };
const RANGE = 'from=2026-03-11&to=2026-03-12';

interface MoneyRow {
  entryId: number;
  occurredAt: string;
  dormitoryId: string;
  purse: string;
  amountFen: number;
  reference: string | null;
  operator: string | null;
  channel: string | null;
  reason: string | null;
  studentId: string | null;
  source: string;
}
interface Page<R> {
  campuses: { campus: string; from: string; to: string }[];
  rows: R[];
  next: string | null;
}

function csvRows(body: string): { header: string[]; records: string[][] } {
  const [header, ...records] = body.trimEnd().split('\r\n').map((line) => line.split(','));
  return { header: header!, records };
}

t.test('money journals: a range of local days, by channel, page by page, exports equal to the ledger', async (t) => {
  const clock = new SimulatedClock(FIRST - 10 * HOUR, 0);
  const test = await createTestApp(t, { clock, demoShape: SHAPE, env: { REFUND_APPROVAL_THRESHOLD_FEN: '1000000' } });
  const { app, database } = test;
  const finance = await test.as('finance');
  const post = async (path: string, payload: object) => {
    const response = await app.http.inject({ method: 'POST', url: path, headers: finance, payload });
    t.equal(response.statusCode, 201, `${path} ${JSON.stringify(payload)} is applied (${response.body.slice(0, 200)})`);
  };
  // The local day before the range: 23:30 on 2026-03-10.
  clock.jumpTo(FIRST - HOUR / 2);
  await post('/api/dormitories/A-101/recharges', { amount: 100, method: 'cash', reference: 'before' });
  clock.jumpTo(FIRST + HOUR / 2);
  await post('/api/dormitories/A-101/recharges', { amount: 500, method: 'cash', reference: 'r1' });
  clock.jumpTo(FIRST + 11 * HOUR);
  await post('/api/dormitories/B-101/recharges', { amount: 300, method: 'card', purse: 'water', reference: 'r2' });
  clock.jumpTo(FIRST + 12 * HOUR);
  await post('/api/dormitories/A-101/refunds', { amount: 200, reason: 'moved out early', reference: 'f1' });
  clock.jumpTo(FIRST + 13 * HOUR);
  await post('/api/dormitories/A-102/adjustments', { amount: -50, reason: 'meter fault', reference: 'j1' });
  // A provider-confirmed payment in the last minute of the range, then one at the next local midnight.
  await appendPostings(database.db, [
    { dormitoryId: 'B-102', purse: 'electricity', kind: 'recharge', amount: 1_000, reference: 'pay-1', operator: 'S001', occurredAt: new Date(END - 60_000), details: { method: 'online', provider: 'sandbox', payerStudentId: 'S001' } },
    { dormitoryId: 'B-102', purse: 'electricity', kind: 'recharge', amount: 7, reference: 'after', occurredAt: new Date(END), details: { method: 'cash' } },
  ]);

  const get = async <T>(url: string): Promise<T> => {
    const response = await app.http.inject({ method: 'GET', url, headers: finance });
    t.equal(response.statusCode, 200, `${url} is served (${response.statusCode === 200 ? '' : response.body})`);
    return response.json<T>();
  };
  const recharges = await get<Page<MoneyRow>>(`/api/reports/journals/recharges?${RANGE}`);
  t.same(
    recharges.rows.map((r) => [r.reference, r.dormitoryId, r.purse, r.amountFen, r.channel, r.source]),
    [
      ['r1', 'A-101', 'electricity', 500, 'cash', 'office'],
      ['r2', 'B-101', 'water', 300, 'card', 'office'],
      ['pay-1', 'B-102', 'electricity', 1_000, 'online:sandbox', 'online'],
    ],
    "the range's recharges on the campus's own days, oldest first, with their channels",
  );
  t.ok(recharges.rows.every((r) => r.operator !== null), 'each with who entered it');
  t.equal(recharges.rows[2]!.studentId, 'S001', 'a paying student is named');
  t.same((await get<Page<MoneyRow>>(`/api/reports/journals/recharges?${RANGE}&channel=online:sandbox`)).rows.map((r) => r.reference), ['pay-1'], 'one provider');
  t.same((await get<Page<MoneyRow>>(`/api/reports/journals/recharges?${RANGE}&channel=cash`)).rows.map((r) => r.reference), ['r1'], 'the cash desk');
  t.same((await get<Page<MoneyRow>>(`/api/reports/journals/recharges?${RANGE}&purse=water`)).rows.map((r) => r.reference), ['r2'], 'one purse');
  t.same((await get<Page<MoneyRow>>(`/api/reports/journals/recharges?${RANGE}&building=BB`)).rows.map((r) => r.reference), ['r2', 'pay-1'], 'one building');
  t.same((await get<Page<MoneyRow>>('/api/reports/journals/recharges?from=2026-03-10&to=2026-03-10')).rows.map((r) => r.reference).filter((r) => r !== null), ['before'], 'the day before holds the 23:30 recharge');
  const first = await get<Page<MoneyRow>>(`/api/reports/journals/recharges?${RANGE}&limit=2`);
  t.same(first.rows.map((r) => r.reference), ['r1', 'r2'], 'a page of two');
  const second = await get<Page<MoneyRow>>(`/api/reports/journals/recharges?${RANGE}&limit=2&after=${first.next}`);
  t.same([second.rows.map((r) => r.reference), second.next], [['pay-1'], null], 'then the rest, the last page');

  t.same(recharges.campuses, [{ campus: 'demo', from: new Date(FIRST).toISOString(), to: new Date(END).toISOString() }], "the campus's window in UTC");
  const byDefault = await get<Page<MoneyRow>>('/api/reports/journals/recharges');
  t.same(byDefault.rows.map((r) => r.reference), ['before', 'r1', 'r2'], 'by default the last 7 local days up to today on the injected clock (2026-03-11 local)');
  t.same(byDefault.campuses[0]!.from, new Date(FIRST - 6 * 24 * HOUR).toISOString(), 'from six days before today');
  const refunds = await get<Page<MoneyRow>>(`/api/reports/journals/refunds?${RANGE}`);
  t.same(refunds.rows.map((r) => [r.reference, r.dormitoryId, r.amountFen, r.reason, r.channel, r.source]), [['f1', 'A-101', -200, 'moved out early', null, 'office']], 'the refund as posted (a debit), with its reason');
  const adjustments = await get<Page<MoneyRow>>(`/api/reports/journals/adjustments?${RANGE}`);
  t.same(adjustments.rows.map((r) => [r.reference, r.dormitoryId, r.amountFen, r.reason]), [['j1', 'A-102', -50, 'meter fault']], "the adjustment, signed (the seed's opening balances are before the range)");

  // The independent sum: the ledger's rows of each kind in [FIRST, END), read on their own.
  for (const [path, kind, rows] of [['recharges', 'recharge', recharges.rows], ['refunds', 'refund', refunds.rows], ['adjustments', 'adjustment', adjustments.rows]] as const) {
    const ledger = await database.db.selectFrom('ledger_entries').select(['id', 'amount']).where('kind', '=', kind).where('occurred_at', '>=', new Date(FIRST)).where('occurred_at', '<', new Date(END)).execute();
    t.same(rows.map((r) => r.entryId).sort(), ledger.map((r) => r.id).sort(), `the ${path} journal lists exactly the ledger's ${kind} entries of the range`);
    t.equal(rows.reduce((s, r) => s + r.amountFen, 0), ledger.reduce((s, r) => s + r.amount, 0), `the ${path} journal ties to the ledger to the fen`);
  }

  // An export longer than one page of the export reader (500 rows): every row, the same total.
  await appendPostings(database.db, Array.from({ length: 1_234 }, (_, i) => ({ dormitoryId: 'A-201', purse: 'electricity' as const, kind: 'recharge' as const, amount: 1 + (i % 7), reference: `bulk-${i}`, occurredAt: new Date(FIRST + 20 * HOUR + i * 1_000), details: { method: 'campus_card' } })));
  const ledgerTotal = Number(
    (await database.db.selectFrom('ledger_entries').select((eb) => eb.fn.sum<string>('amount').as('s')).where('kind', '=', 'recharge').where('occurred_at', '>=', new Date(FIRST)).where('occurred_at', '<', new Date(END)).executeTakeFirstOrThrow()).s,
  );
  const csv = await app.http.inject({ method: 'GET', url: `/api/reports/journals/recharges?${RANGE}&format=csv`, headers: finance });
  t.equal(csv.statusCode, 200, 'the CSV is served');
  t.match(csv.headers['content-disposition'], /recharges-2026-03-11-2026-03-12\.csv/, 'as a download');
  const { header, records } = csvRows(csv.body);
  t.same(header, ['entry', 'occurred_at', 'campus', 'building', 'dormitory', 'purse', 'amount_fen', 'balance_after_fen', 'reference', 'operator', 'channel', 'reason', 'approved_by', 'student', 'source'], 'the documented columns');
  t.equal(records.length, 3 + 1_234, 'every row, across export pages');
  t.equal(records.reduce((s, r) => s + Number(r[6]), 0), ledgerTotal, "the CSV's total is the ledger's");
  t.equal(new Set(records.map((r) => r[0])).size, records.length, 'no row twice across pages');
  const xlsx = await app.http.inject({ method: 'GET', url: `/api/reports/journals/recharges?${RANGE}&format=xlsx`, headers: finance });
  t.equal(xlsx.statusCode, 200, 'the XLSX is served');
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
  const sheet = workbook.worksheets[0]!;
  let xlsxTotal = 0;
  sheet.eachRow((row, n) => {
    if (n > 1) xlsxTotal += Number((row.values as unknown[])[7]);
  });
  t.same([sheet.rowCount - 1, xlsxTotal], [records.length, ledgerTotal], "the XLSX has the CSV's rows and total");
  const refundCsv = csvRows((await app.http.inject({ method: 'GET', url: `/api/reports/journals/refunds?${RANGE}&format=csv`, headers: finance })).body);
  t.same(refundCsv.records.map((r) => [r[6], r[8], r[11]]), [['-200', 'f1', 'moved out early']], 'the refunds CSV');

  const bad = async (query: string, field: string, why: string) => {
    const response = await app.http.inject({ method: 'GET', url: `/api/reports/journals/recharges?${query}`, headers: finance });
    t.same([response.statusCode, response.json().error?.field], [400, field], why);
  };
  await bad('from=2026-02-30&to=2026-03-01', 'from', 'a day that does not exist names from');
  await bad('from=2026-03-11&to=2026-03-10', 'to', 'a range that ends before it starts names to');
  await bad('from=2025-01-01&to=2026-03-10', 'to', 'a range over 366 days names to');
  await bad(`${RANGE}&after=bm90LW91cnM`, 'after', 'a cursor the journal did not give names after');
  const overLong = await app.http.inject({ method: 'GET', url: '/api/reports/journals/refunds?from=2025-01-01&to=2026-03-10&format=csv', headers: finance });
  t.same([overLong.statusCode, overLong.json().error?.field], [400, 'to'], 'an export with a bad range is a 400 before any byte');
  t.equal((await app.http.inject({ method: 'GET', url: `/api/reports/journals/recharges?${RANGE}`, headers: await test.as('manager') })).statusCode, 200, 'a manager reads the journals');
  t.equal((await app.http.inject({ method: 'GET', url: `/api/reports/journals/recharges?${RANGE}`, headers: await test.as('student', 'A-101') })).statusCode, 403, 'a student does not');
});

t.test('the alarm history: raised in the range, who acknowledged and released it, and why', async (t) => {
  const clock = new SimulatedClock(FIRST + HOUR, 0);
  const test = await createTestApp(t, { clock, demoShape: SHAPE });
  const { app, database } = test;
  const alarm = (dormitoryId: string | null, gatewayId: string | null, kind: string, raisedAt: number) => ({
    dormitory_id: dormitoryId,
    meter_id: dormitoryId === null ? null : `M-${dormitoryId}`,
    gateway_id: gatewayId,
    circuit: null,
    kind,
    severity: 'warning',
    message: `${kind} in ${dormitoryId ?? gatewayId}`,
    evidence: JSON.stringify([]),
    raised_at: new Date(raisedAt),
  });
  const ids = await database.db
    .insertInto('alarms')
    .values([alarm('A-101', null, 'malignant_load', FIRST - 60_000), alarm('A-101', null, 'malignant_load', FIRST + 60_000), alarm(null, 'GW-B1', 'gateway_offline', FIRST + 2 * 60_000), alarm('A-102', null, 'ac_standby', END - 1), alarm('A-102', null, 'ac_standby', END)])
    .returning('id')
    .execute();
  const [before, inside, outage, last] = ids.map((r) => r.id);
  const manager = await test.as('manager');
  const act = async (path: string, payload?: object) => {
    const response = await app.http.inject({ method: 'POST', url: path, headers: manager, ...(payload ? { payload } : {}) });
    t.equal(response.statusCode, 200, `${path} (${response.body.slice(0, 200)})`);
  };
  clock.jumpTo(FIRST + 2 * HOUR);
  await act(`/api/alarms/${inside}/acknowledge`);
  clock.jumpTo(FIRST + 3 * HOUR);
  await act(`/api/alarms/${inside}/release`, { reason: 'the heater was taken away' });
  await act(`/api/alarms/${outage}/acknowledge`);

  const finance = await test.as('finance');
  const get = async (query: string) => {
    const response = await app.http.inject({ method: 'GET', url: `/api/reports/journals/alarms?${query}`, headers: finance });
    t.equal(response.statusCode, 200, `alarms?${query} is served`);
    return response.json<Page<Record<string, unknown>>>();
  };
  const all = await get(RANGE);
  t.same(all.rows.map((r) => r.alarmId), [inside, outage, last], 'raised in the range on the campus clock, oldest first (a gateway outage placed by its gateway)');
  t.not(all.rows.map((r) => r.alarmId).includes(before), true, 'one raised the day before is not in it');
  const released = all.rows[0]!;
  t.same(
    [released.state, released.message, released.acknowledgedBy !== null, released.acknowledgedAt, released.releasedAt, released.releaseReason],
    ['released', 'malignant_load in A-101', true, new Date(FIRST + 2 * HOUR).toISOString(), new Date(FIRST + 3 * HOUR).toISOString(), 'the heater was taken away'],
    'why it was raised, who saw it and when, who released it, when and why',
  );
  t.equal(released.releasedBy, released.acknowledgedBy, 'the same manager acknowledged and released it');
  t.same([all.rows[1]!.state, all.rows[1]!.releasedBy, all.rows[1]!.releaseReason], ['active', null, null], 'acknowledged, still active');
  t.same((await get(`${RANGE}&state=active`)).rows.map((r) => r.alarmId), [outage, last], 'by state');
  t.same((await get(`${RANGE}&kind=ac_standby`)).rows.map((r) => r.alarmId), [last], 'by kind');
  t.same((await get(`${RANGE}&dormitory=A-101`)).rows.map((r) => r.alarmId), [inside], 'by dormitory');
  const page = await get(`${RANGE}&limit=1`);
  const rest = await get(`${RANGE}&limit=5&after=${page.next}`);
  t.same([...page.rows, ...rest.rows].map((r) => r.alarmId), [inside, outage, last], 'pages join up');
  const csv = await app.http.inject({ method: 'GET', url: `/api/reports/journals/alarms?${RANGE}&format=csv`, headers: manager });
  const { header, records } = csvRows(csv.body);
  t.same(header, ['alarm', 'raised_at', 'campus', 'kind', 'severity', 'state', 'dormitory', 'meter', 'gateway', 'circuit', 'message', 'acknowledged_at', 'acknowledged_by', 'released_at', 'released_by', 'release_reason'], 'the documented columns');
  t.same(records.map((r) => [Number(r[0]), r[15]]), [[inside, 'the heater was taken away'], [outage, ''], [last, '']], 'the CSV has the JSON rows with the reason');
  const bad = await app.http.inject({ method: 'GET', url: '/api/reports/journals/alarms?from=2026-03-11&to=2026-13-01', headers: finance });
  t.same([bad.statusCode, bad.json().error?.field], [400, 'to'], 'a bad day names its field');
});
